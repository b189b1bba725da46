// Parallel HDF5 against one writer (docs/PERFORMANCE.md, "Parallel HDF5"): not part of the build, not a
// test. Built and run by launch/bench_phdf5.sh against Debian's libhdf5-openmpi (the project itself
// links the serial libhdf5); the only file outside store/detail with raw H5* calls, since it measures
// the library's parallel driver, which the project does not use.
//   mpiexec -n R phdf5_bench MODE FILE UNIT_ROWS UNITS [TOKENS=1000] [CHECKPOINTS=8] [FLUSH_SECONDS=1] [fletcher]
// A [CHECKPOINTS, K, TOKENS] float32 dataset, chunked as the result file's losses ([1, rows, TOKENS],
// at most 64 KiB a chunk: run_file.cpp loss_chunk_rows), NaN fill, written in UNITS units of
// UNIT_ROWS x TOKENS float32 each (K = UNITS / CHECKPOINTS x UNIT_ROWS), one unit per write call:
//   collective   every rank opens FILE through MPI-IO (H5Pset_fapl_mpio) and writes its units (unit u
//                is rank u % R's) with H5FD_MPIO_COLLECTIVE transfers, one unit per rank per call
//   independent  the same with H5FD_MPIO_INDEPENDENT transfers (no filter allowed: 'fletcher' is refused)
//   gather       ranks 1..R-1 send their units (MPI_Send of the unit's bytes and its number) to rank 0,
//                the only process that opens FILE (sec2 driver) and writes them as they come
// Every FLUSH_SECONDS (rank 0's clock; 0: only at the end) the file is flushed: H5Fflush, collective in
// the MPI-IO modes (the MPI-IO driver ends it with MPI_File_sync); in gather mode H5Fflush then fsync,
// as rank 0's writer does. 'fletcher' adds the Fletcher-32 filter of the result file. With
// PHDF5_BENCH_CREATED=PATH in the environment, rank 0 creates PATH once the file and dataset are
// created and flushed, before the first unit is written.
// Prints one line: mode, ranks, unit bytes, MB/s of loss bytes (wall from the first write to the last
// flush), rank 0's CPU seconds (user + system, getrusage: Open MPI's busy polling while it waits
// included) and per MB, the part of it inside H5Dwrite/H5Fflush/fsync, the mean CPU over ranks, flushes,
// and the seconds H5Fcreate + H5Dcreate + the first flush took (the MPI-IO driver allocates every chunk
// at creation and writes the NaN fill into it; the serial file allocates a chunk when first written).
#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "curate/util/clock.h"

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "phdf5_bench: %s\n", what.c_str());
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::exit(1);
}

void check(herr_t status, const char* what) {
  if (status < 0) die(what);
}

struct Setup {
  std::string mode, path;
  hsize_t unit_rows = 64, units = 0, tokens = 1000, checkpoints = 8;
  double flush_seconds = 1;
  bool fletcher = false;
  hsize_t rows() const { return units / checkpoints * unit_rows; }
  hsize_t units_per_checkpoint() const { return units / checkpoints; }
};

// Creates the dataset in `file` (every rank, collectively, in the MPI-IO modes).
hid_t create_losses(hid_t file, const Setup& s) {
  const hsize_t dims[3] = {s.checkpoints, s.rows(), s.tokens};
  const hsize_t chunk_rows = std::max<hsize_t>(1, std::min<hsize_t>((64u << 10) / (s.tokens * 4), s.unit_rows));
  const hsize_t chunk[3] = {1, chunk_rows, s.tokens};
  const hid_t space = H5Screate_simple(3, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  check(H5Pset_chunk(dcpl, 3, chunk), "chunk");
  const float nan = std::nanf("");
  check(H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, &nan), "fill value");
  if (s.fletcher) check(H5Pset_fletcher32(dcpl), "fletcher32");
  const hid_t set = H5Dcreate2(file, "losses", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (set < 0) die("create dataset");
  H5Pclose(dcpl);
  H5Sclose(space);
  return set;
}

// Writes unit `u` (checkpoint u / units per checkpoint, rows of its unit within it) from `data`;
// `empty`: no element selected (a rank with no unit left still joins a collective call).
void write_unit(hid_t set, hid_t dxpl, const Setup& s, hsize_t u, const float* data, bool empty) {
  const hid_t space = H5Dget_space(set);
  const hsize_t count[3] = {1, s.unit_rows, s.tokens};
  const hsize_t offset[3] = {u / s.units_per_checkpoint(), (u % s.units_per_checkpoint()) * s.unit_rows, 0};
  hid_t memory;
  if (empty) {
    H5Sselect_none(space);
    memory = H5Screate_simple(3, count, nullptr);
    H5Sselect_none(memory);
  } else {
    check(H5Sselect_hyperslab(space, H5S_SELECT_SET, offset, nullptr, count, nullptr), "select");
    memory = H5Screate_simple(3, count, nullptr);
  }
  check(H5Dwrite(set, H5T_NATIVE_FLOAT, memory, space, dxpl, data), "write");
  H5Sclose(memory);
  H5Sclose(space);
}

void fill(std::vector<float>& unit, hsize_t u) {
  for (std::size_t i = 0; i < unit.size(); ++i) unit[i] = static_cast<float>(u) + 1e-3f * static_cast<float>(i % 1000);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (argc < 5)
    die("usage: phdf5_bench collective|independent|gather FILE UNIT_ROWS UNITS [TOKENS] [CHECKPOINTS] "
        "[FLUSH_SECONDS] [fletcher]");
  Setup s;
  s.mode = argv[1], s.path = argv[2], s.unit_rows = std::stoull(argv[3]), s.units = std::stoull(argv[4]);
  if (argc > 5) s.tokens = std::stoull(argv[5]);
  if (argc > 6) s.checkpoints = std::stoull(argv[6]);
  if (argc > 7) s.flush_seconds = std::stod(argv[7]);
  s.fletcher = argc > 8 && std::string(argv[8]) == "fletcher";
  if (s.units % s.checkpoints) die("UNITS must be a multiple of CHECKPOINTS");
  const bool gather = s.mode == "gather", mpio = s.mode == "collective" || s.mode == "independent";
  if (!gather && !mpio) die("MODE is collective, independent or gather");
  if (s.mode == "independent" && s.fletcher) die("HDF5 writes filtered datasets in parallel only collectively");
  if (gather && ranks < 2) die("gather needs a writer and at least one sender");
  const std::size_t unit_values = s.unit_rows * s.tokens;
  std::vector<float> unit(unit_values);

  hid_t file = -1, set = -1, dxpl = H5P_DEFAULT;
  const double create_start = MPI_Wtime();
  if (mpio || rank == 0) {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (mpio) check(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL), "fapl mpio");
    file = H5Fcreate(s.path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0) die("create " + s.path);
    H5Pclose(fapl);
    set = create_losses(file, s);
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flush");
    if (mpio) {
      dxpl = H5Pcreate(H5P_DATASET_XFER);
      check(H5Pset_dxpl_mpio(dxpl, s.mode == "collective" ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT), "dxpl");
    }
  }
  int fd = -1;
  if (gather && rank == 0) {
    void* handle = nullptr;
    check(H5Fget_vfd_handle(file, H5P_DEFAULT, &handle), "vfd handle");
    fd = *static_cast<int*>(handle);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (const char* mark = std::getenv("PHDF5_BENCH_CREATED"); mark && rank == 0) {  // the kill test waits for it
    if (FILE* f = std::fopen(mark, "w")) std::fclose(f);
  }
  const double start = MPI_Wtime(), cpu_start = curate::process_cpu_seconds(), create = start - create_start;
  double last_flush = start;
  long flushes = 0;
  double io_cpu = 0;  // this rank's CPU inside H5Dwrite, H5Fflush and fsync (no MPI polling outside them)
  const auto timed = [&](auto&& call) {
    const double t0 = curate::thread_cpu_seconds();
    call();
    io_cpu += curate::thread_cpu_seconds() - t0;
  };
  const auto flush = [&] {
    timed([&] {
      check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flush");
      if (fd >= 0 && ::fsync(fd) != 0) die("fsync");
    });
    ++flushes;
  };
  if (mpio) {
    const hsize_t rounds = (s.units + static_cast<hsize_t>(ranks) - 1) / static_cast<hsize_t>(ranks);
    for (hsize_t round = 0; round < rounds; ++round) {
      const hsize_t u = round * static_cast<hsize_t>(ranks) + static_cast<hsize_t>(rank);
      const bool mine = u < s.units;
      if (mine) fill(unit, u);
      if (s.mode == "collective" || mine) timed([&] { write_unit(set, dxpl, s, u, unit.data(), !mine); });
      int due = s.flush_seconds > 0 && MPI_Wtime() - last_flush >= s.flush_seconds;
      MPI_Bcast(&due, 1, MPI_INT, 0, MPI_COMM_WORLD);  // H5Fflush is collective: rank 0's clock decides
      if (due) flush(), last_flush = MPI_Wtime();
    }
  } else if (rank == 0) {
    std::vector<char> message(8 + unit_values * 4);
    for (hsize_t received = 0; received < s.units; ++received) {
      MPI_Recv(message.data(), static_cast<int>(message.size()), MPI_BYTE, MPI_ANY_SOURCE, 1, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      uint64_t u = 0;
      std::memcpy(&u, message.data(), 8);
      std::memcpy(unit.data(), message.data() + 8, unit_values * 4);
      timed([&] { write_unit(set, H5P_DEFAULT, s, u, unit.data(), false); });
      if (s.flush_seconds > 0 && MPI_Wtime() - last_flush >= s.flush_seconds) flush(), last_flush = MPI_Wtime();
    }
  } else {
    std::vector<char> message(8 + unit_values * 4);
    for (hsize_t u = static_cast<hsize_t>(rank - 1); u < s.units; u += static_cast<hsize_t>(ranks - 1)) {
      fill(unit, u);
      const uint64_t number = u;
      std::memcpy(message.data(), &number, 8);
      std::memcpy(message.data() + 8, unit.data(), unit_values * 4);
      MPI_Send(message.data(), static_cast<int>(message.size()), MPI_BYTE, 0, 1, MPI_COMM_WORLD);
    }
  }
  if (file >= 0) flush();
  MPI_Barrier(MPI_COMM_WORLD);
  const double wall = MPI_Wtime() - start, cpu = curate::process_cpu_seconds() - cpu_start;
  double cpu_sum = 0;
  MPI_Reduce(&cpu, &cpu_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (set >= 0) H5Dclose(set);
  if (dxpl != H5P_DEFAULT) H5Pclose(dxpl);
  if (file >= 0) H5Fclose(file);
  if (rank == 0) {
    const double mb = static_cast<double>(s.units * unit_values * 4) / 1e6;
    std::printf(
        "%-11s ranks %2d unit %5.0f KB%s: %7.1f MB/s (%.0f MB in %.2f s); rank 0 CPU %.2f s = %.2f ms/MB, "
        "of which in HDF5 writes/flushes %.2f ms/MB; mean rank CPU %.2f s; %ld flushes; create %.2f s\n",
        s.mode.c_str(), ranks, static_cast<double>(unit_values * 4) / 1e3, s.fletcher ? " fletcher" : "", mb / wall, mb,
        wall, cpu, 1e3 * cpu / mb, 1e3 * io_cpu / mb, cpu_sum / ranks, flushes, create);
  }
  MPI_Finalize();
  return 0;
}
