# Memory readings shared by the footprint benches (sourced, never run).

# kb FIELD PID: one field of /proc/PID/smaps_rollup, in kB (Rss, Pss, Private_Dirty, ...).
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/smaps_rollup"; }

# memline PID NAME: RSS, PSS, private memory (clean + dirty; clean is file pages no other
# process maps, such as a binary copied for one agent) with its dirty part, and threads.
memline() {
  local pid=$1 name=$2
  local rss pss priv_clean priv_dirty
  rss=$(kb Rss "$pid"); pss=$(kb Pss "$pid")
  priv_clean=$(kb Private_Clean "$pid"); priv_dirty=$(kb Private_Dirty "$pid")
  printf '%-22s rss=%6d kB  pss=%6d kB  private=%6d kB (dirty %d kB)  threads=%s\n' "$name" \
    "$rss" "$pss" "$((priv_clean + priv_dirty))" "$priv_dirty" \
    "$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")"
}

# mapped_objects PID: the shared objects PID has mapped, by file name.
mapped_objects() {
  awk '$6 ~ /\.so/ { n = $6; sub(/.*\//, "", n); print n }' "/proc/$1/maps" | sort -u | tr '\n' ' '
}

# cold_page_cache FILE: drops FILE's pages from the page cache, so a process started from
# it reads them as after a reboot. The pages of a file just written stay cached the way
# the writer left them, which changes how many the kernel maps per fault.
# FOOTPRINT_WARM=1 leaves the cache alone.
cold_page_cache() {
  [[ ${FOOTPRINT_WARM:-} == 1 ]] && return 0
  sync "$1"
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$1"
}

# private_mappings PID: the mappings holding more than 64 kB of private dirty memory, so a
# growth can be placed (heap, a thread's stack or arena, a library's data).
private_mappings() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anonymous]" : $6); range = $1 }
       /^Private_Dirty:/ { if ($2 > 64) printf "    %6d kB private dirty  %s %s\n", $2, name, range }' \
    "/proc/$1/smaps"
}
