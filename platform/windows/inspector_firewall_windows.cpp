// Windows Firewall rules through its COM API (INetFwPolicy2), which answers in the same
// words in every Windows language, unlike `netsh advfirewall` output. Reading the rules
// needs no administrator rights. The rules are copied into plain records and judged by
// evaluateFirewall() (firewall_rules.hpp); any step that fails is named in
// FirewallFacts::error, and nothing is guessed.

// clang-format off
#include <winsock2.h>
#include <windows.h>
#include <netfw.h>
#include <oleauto.h>
// clang-format on
// objbase.h defines `interface` as a macro; RouteFacts has a member of that name.
#undef interface

#include <vector>

#include "platform/windows/firewall_rules.hpp"
#include "platform/windows/inspector_parts.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform::win {

namespace {

// From netfw.h's IDL; spelled out so the build needs no uuid import library for them.
constexpr CLSID kClsidNetFwPolicy2 = {
    0xe2b3c97f, 0x6ae1, 0x41ac, {0x81, 0x7a, 0xf6, 0xf9, 0x21, 0x66, 0xd7, 0xdd}};
constexpr IID kIidNetFwPolicy2 = {
    0x98325047, 0xc671, 0x4174, {0x8d, 0x81, 0xde, 0xfc, 0xd3, 0xf0, 0x31, 0x86}};
constexpr IID kIidNetFwRule = {
    0xaf230d27, 0xbaba, 0x4e42, {0xac, 0xed, 0xf5, 0x24, 0xf2, 0x2c, 0xfc, 0xe2}};
constexpr IID kIidEnumVariant = {
    0x00020404, 0x0000, 0x0000, {0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}};

template <typename T>
struct ComPtr {
  T* p = nullptr;
  ~ComPtr() {
    if (p) p->Release();
  }
  T** out() { return &p; }
  T* operator->() const { return p; }
  explicit operator bool() const { return p != nullptr; }
};

std::string hresultText(HRESULT hr) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08lX", static_cast<unsigned long>(hr));
  std::string text = errorText(static_cast<DWORD>(hr));
  // errorText ends in "(error N)"; an HRESULT reads better in hex.
  if (auto open = text.rfind(" (error "); open != std::string::npos) text.resize(open);
  if (text.rfind("error ", 0) == 0) return hex;
  return text + " (" + hex + ")";
}

std::string takeString(BSTR value) {
  std::string text = value ? toUtf8(std::wstring_view(value, ::SysStringLen(value))) : "";
  if (value) ::SysFreeString(value);
  return text;
}

// Each getter's failure leaves the record's default, which is the broadest reading
// ("*", every profile), so an unreadable field never hides a rule.
FirewallRuleRecord readRule(INetFwRule* rule) {
  FirewallRuleRecord r;
  BSTR text = nullptr;
  if (SUCCEEDED(rule->get_Name(&text))) r.name = takeString(text);
  text = nullptr;
  if (SUCCEEDED(rule->get_Grouping(&text))) r.grouping = takeString(text);
  VARIANT_BOOL enabled = VARIANT_TRUE;
  if (SUCCEEDED(rule->get_Enabled(&enabled))) r.enabled = enabled != VARIANT_FALSE;
  NET_FW_RULE_DIRECTION direction = NET_FW_RULE_DIR_OUT;
  if (SUCCEEDED(rule->get_Direction(&direction))) r.outbound = direction == NET_FW_RULE_DIR_OUT;
  NET_FW_ACTION action = NET_FW_ACTION_BLOCK;
  if (SUCCEEDED(rule->get_Action(&action))) r.block = action == NET_FW_ACTION_BLOCK;
  long value = 0;
  if (SUCCEEDED(rule->get_Profiles(&value))) r.profiles = value;
  if (SUCCEEDED(rule->get_Protocol(&value))) r.protocol = value;
  text = nullptr;
  if (SUCCEEDED(rule->get_RemoteAddresses(&text)) && text) r.remoteAddresses = takeString(text);
  text = nullptr;
  if (SUCCEEDED(rule->get_RemotePorts(&text)) && text) r.remotePorts = takeString(text);
  text = nullptr;
  if (SUCCEEDED(rule->get_LocalAddresses(&text)) && text) r.localAddresses = takeString(text);
  text = nullptr;
  if (SUCCEEDED(rule->get_LocalPorts(&text)) && text) r.localPorts = takeString(text);
  text = nullptr;
  if (SUCCEEDED(rule->get_ApplicationName(&text))) r.applicationName = takeString(text);
  text = nullptr;
  if (SUCCEEDED(rule->get_ServiceName(&text))) r.serviceName = takeString(text);
  text = nullptr;
  if (SUCCEEDED(rule->get_InterfaceTypes(&text)) && text) r.interfaceTypes = takeString(text);
  return r;
}

struct ComApartment {
  HRESULT hr;
  ComApartment() : hr(::CoInitializeEx(nullptr, COINIT_MULTITHREADED)) {}
  ~ComApartment() {
    if (SUCCEEDED(hr)) ::CoUninitialize();
  }
  // RPC_E_CHANGED_MODE: this thread is already in another apartment, which works too.
  bool usable() const { return SUCCEEDED(hr) || hr == RPC_E_CHANGED_MODE; }
};

FirewallFacts unreadable(const std::string& ipv4, const std::string& why) {
  FirewallFacts facts;
  facts.destination = ipv4;
  facts.readable = false;
  facts.error = "Windows Firewall rules could not be read: " + why;
  return facts;
}

}  // namespace

FirewallFacts readFirewall(const std::string& ipv4) {
  ComApartment com;
  if (!com.usable()) return unreadable(ipv4, "CoInitializeEx: " + hresultText(com.hr));
  ComPtr<INetFwPolicy2> policy;
  HRESULT hr = ::CoCreateInstance(kClsidNetFwPolicy2, nullptr, CLSCTX_INPROC_SERVER,
                                  kIidNetFwPolicy2, reinterpret_cast<void**>(policy.out()));
  if (FAILED(hr)) return unreadable(ipv4, "CoCreateInstance(NetFwPolicy2): " + hresultText(hr));

  FirewallProfileState state;
  hr = policy->get_CurrentProfileTypes(&state.activeProfiles);
  if (FAILED(hr)) return unreadable(ipv4, "get_CurrentProfileTypes: " + hresultText(hr));
  for (long type : {NET_FW_PROFILE2_DOMAIN, NET_FW_PROFILE2_PRIVATE, NET_FW_PROFILE2_PUBLIC}) {
    if (!(state.activeProfiles & type)) continue;
    FirewallProfileState::Profile profile;
    profile.type = type;
    auto profileType = static_cast<NET_FW_PROFILE_TYPE2>(type);
    VARIANT_BOOL enabled = VARIANT_TRUE;
    hr = policy->get_FirewallEnabled(profileType, &enabled);
    if (FAILED(hr)) return unreadable(ipv4, "get_FirewallEnabled: " + hresultText(hr));
    profile.enabled = enabled != VARIANT_FALSE;
    NET_FW_ACTION outbound = NET_FW_ACTION_ALLOW;
    hr = policy->get_DefaultOutboundAction(profileType, &outbound);
    if (FAILED(hr)) return unreadable(ipv4, "get_DefaultOutboundAction: " + hresultText(hr));
    profile.defaultOutboundBlock = outbound == NET_FW_ACTION_BLOCK;
    state.profiles.push_back(profile);
  }

  ComPtr<INetFwRules> rules;
  hr = policy->get_Rules(rules.out());
  if (FAILED(hr)) return unreadable(ipv4, "get_Rules: " + hresultText(hr));
  ComPtr<IUnknown> enumUnknown;
  hr = rules->get__NewEnum(enumUnknown.out());
  if (FAILED(hr) || !enumUnknown)
    return unreadable(ipv4, "INetFwRules::get__NewEnum: " + hresultText(hr));
  ComPtr<IEnumVARIANT> enumerator;
  hr = enumUnknown->QueryInterface(kIidEnumVariant, reinterpret_cast<void**>(enumerator.out()));
  if (FAILED(hr)) return unreadable(ipv4, "IEnumVARIANT: " + hresultText(hr));

  std::vector<FirewallRuleRecord> records;
  // A bound on a broken enumerator; real machines have a few hundred rules.
  for (int i = 0; i < 100000; ++i) {
    VARIANT item;
    ::VariantInit(&item);
    ULONG fetched = 0;
    hr = enumerator->Next(1, &item, &fetched);
    if (hr != S_OK || fetched == 0) {
      ::VariantClear(&item);
      break;
    }
    if (item.vt == VT_DISPATCH && item.pdispVal) {
      ComPtr<INetFwRule> rule;
      if (SUCCEEDED(
              item.pdispVal->QueryInterface(kIidNetFwRule, reinterpret_cast<void**>(rule.out()))))
        records.push_back(readRule(rule.p));
    }
    ::VariantClear(&item);
  }
  if (FAILED(hr)) return unreadable(ipv4, "IEnumVARIANT::Next: " + hresultText(hr));
  FirewallFacts facts = evaluateFirewall(ipv4, state, records);
  facts.sources.back() += " (" + std::to_string(records.size()) + " rules)";
  return facts;
}

}  // namespace guestpulse::platform::win
