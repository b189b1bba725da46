#!/usr/bin/env bash
# Parallel HDF5 (MPI-IO, Debian's libhdf5-openmpi) against one writer: builds launch/bench/phdf5_bench.cpp
# (not part of the CMake build) against the openmpi flavour of libhdf5 and runs it for each rank count
# and unit size, in the modes collective, independent (MPI-IO by every rank) and gather (units sent to
# rank 0, which writes them alone), with a flush every second; then kills collective runs with
# SIGKILL mid-write and reports whether the file is still whole (h5repack of the serial tools reads it).
# Results and conclusion: docs/PERFORMANCE.md, "Parallel HDF5 against one writer".
#   launch/bench_phdf5.sh [TOTAL_MB=256] ["RANKS"="2 4 8"] [WORKDIR=build/bench_phdf5] [KILLS=5]
# Installs libhdf5-openmpi-dev with apt-get when it is missing, and leaves the hdf5.pc alternative
# (pkg-config's hdf5, which the openmpi package would otherwise take over: its priority is higher)
# as it found it, so that the project's CMake build keeps finding the serial HDF5.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
total_mb=${1:-256} rank_counts=${2:-"2 4 8"} work=${3:-$root/build/bench_phdf5} kills=${4:-5}
flavour=/usr/lib/x86_64-linux-gnu/hdf5/openmpi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

if [ ! -f /usr/include/hdf5/openmpi/hdf5.h ] || [ ! -e $flavour/libhdf5.so ]; then
  before=$(readlink -f /etc/alternatives/hdf5.pc 2>/dev/null || true)
  apt-get install -y --no-install-recommends libhdf5-openmpi-dev
  if [ -n "$before" ] && [ "$(readlink -f /etc/alternatives/hdf5.pc)" != "$before" ]; then
    update-alternatives --set hdf5.pc "$before"  # back to the flavour the project's build found
  fi
fi

mkdir -p "$work"
bench=$work/phdf5_bench
mpicxx -std=c++20 -O2 -I/usr/include/hdf5/openmpi -I"$root/include" "$root/launch/bench/phdf5_bench.cpp" -L$flavour \
  -Wl,-rpath,$flavour -lhdf5 -o "$bench"

echo "# $(nproc) cores; $(mpiexec --version | head -1); $(grep -o 'HDF5 Version: [0-9.]*' $flavour/libhdf5.settings)"
echo "# file system of $work: $(df -hT "$work" | awk 'NR == 2 {print $2 " on " $1}')"
for unit_rows in 64 256; do  # x 1,000 float32 tokens: 256 KB and 1 MB units
  units=$((total_mb * 1000 * 1000 / (unit_rows * 4000) / 8 * 8))
  for ranks in $rank_counts; do
    for mode in collective independent gather; do
      rm -f "$work/bench.h5"
      mpiexec -n "$ranks" "$bench" $mode "$work/bench.h5" $unit_rows $units 1000 8 1
    done
  done
done

# SIGKILL during the writes and their collective flushes (20 a second: metadata included), at a
# different moment of each run after the file and its dataset were created and flushed; without and
# with Fletcher-32. A file counts as whole when h5repack reads every chunk of it (checksums included).
for filter in plain fletcher; do
  opened=0
  for ((k = 1; k <= kills; k++)); do
    rm -f "$work/killed.h5" "$work/created" "$work/repacked.h5"
    PHDF5_BENCH_CREATED=$work/created mpiexec -n 4 "$bench" collective "$work/killed.h5" 64 2000 1000 8 0.05 $filter \
      > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do [ -f "$work/created" ] && break; sleep 0.1; done
    [ -f "$work/created" ] || { echo "kill $k: the file was not created within a minute"; continue; }
    sleep "$(awk -v k="$k" 'BEGIN { printf "%.2f", 0.13 * k + 0.05 }')"
    pkill -KILL -P $pid 2>/dev/null || true  # the ranks (children of this mpiexec), then mpiexec
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    if h5repack "$work/killed.h5" "$work/repacked.h5" > "$work/repack.log" 2>&1; then
      opened=$((opened + 1))
    else
      echo "kill $k ($filter): $(grep -m1 -i 'error\|unable' "$work/repack.log")"
    fi
  done
  echo "killed $kills collective runs ($filter, 4 ranks) mid-write: $opened file(s) still whole (h5repack reads every chunk)"
done
rm -f "$work/killed.h5" "$work/repacked.h5" "$work/bench.h5"
