// store/wal_vfs.cc — see wal_vfs.h. May call: SQLite.
#include "store/wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <new>
#include <string>

namespace trackrelay::store::internal {
namespace {

constexpr std::size_t kMaxBuffered = 1 << 20;
// Bytes per write to the default VFS: SQLite never writes more than a page
// (at most 64 KiB) at once, and its unix VFS silently truncates a larger
// request to 17 bits (seekAndWriteFd), so the buffer goes in 64 KiB pieces.
constexpr std::size_t kMaxWrite = 64 * 1024;
constexpr const char* kName = "trackrelay-wal-combining";

// Our object (constructed in the memory SQLite gives xOpen, destroyed by
// xClose), then the default VFS's file for the same `-wal` file.
struct WalFile {
  sqlite3_file base{};  // first: SQLite sees this
  sqlite3_file* real = nullptr;
  std::string pending;           // contiguous bytes not yet written
  sqlite3_int64 pending_at = 0;  // their file offset
};

constexpr std::size_t kRealOffset = (sizeof(WalFile) + 15) / 16 * 16;

WalFile* wal(sqlite3_file* f) {
  return reinterpret_cast<WalFile*>(f);
}
sqlite3_file* real(sqlite3_file* f) {
  return wal(f)->real;
}

int flush(WalFile* w) {
  int rc = SQLITE_OK;
  for (std::size_t at = 0; rc == SQLITE_OK && at < w->pending.size(); at += kMaxWrite) {
    const std::size_t n = std::min(kMaxWrite, w->pending.size() - at);
    rc = w->real->pMethods->xWrite(w->real, w->pending.data() + at, static_cast<int>(n),
                                   w->pending_at + static_cast<sqlite3_int64>(at));
  }
  w->pending.clear();
  return rc;
}

int wal_close(sqlite3_file* f) {
  WalFile* w = wal(f);
  const int flushed = flush(w);
  const int rc = w->real->pMethods->xClose(w->real);
  w->~WalFile();
  return flushed != SQLITE_OK ? flushed : rc;
}

int wal_read(sqlite3_file* f, void* out, int amt, sqlite3_int64 off) {
  if (const int rc = flush(wal(f)); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xRead(real(f), out, amt, off);
}

int wal_write(sqlite3_file* f, const void* data, int amt, sqlite3_int64 off) {
  WalFile* w = wal(f);
  std::string& p = w->pending;
  const bool follows = !p.empty() && off == w->pending_at + static_cast<sqlite3_int64>(p.size());
  if (!follows || p.size() + static_cast<std::size_t>(amt) > kMaxBuffered) {
    if (const int rc = flush(w); rc != SQLITE_OK) return rc;
    w->pending_at = off;
  }
  p.append(static_cast<const char*>(data), static_cast<std::size_t>(amt));
  return SQLITE_OK;
}

int wal_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (const int rc = flush(wal(f)); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xTruncate(real(f), size);
}

int wal_sync(sqlite3_file* f, int flags) {
  if (const int rc = flush(wal(f)); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xSync(real(f), flags);
}

int wal_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (const int rc = flush(wal(f)); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xFileSize(real(f), size);
}

int wal_lock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xLock(real(f), level);
}
int wal_unlock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xUnlock(real(f), level);
}
int wal_check_reserved(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int wal_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int wal_sector_size(sqlite3_file* f) {
  return real(f)->pMethods->xSectorSize(real(f));
}
int wal_device(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}

// Version 1: SQLite never maps or shares memory through a WAL file.
constexpr sqlite3_io_methods kWalMethods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device,
    .xShmMap = nullptr,
    .xShmLock = nullptr,
    .xShmBarrier = nullptr,
    .xShmUnmap = nullptr,
    .xFetch = nullptr,
    .xUnfetch = nullptr,
};

sqlite3_vfs* base_vfs(sqlite3_vfs* v) {
  return static_cast<sqlite3_vfs*>(v->pAppData);
}

int vfs_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* base = base_vfs(v);
  // Anything but a WAL file is the default VFS's own object, in place.
  if ((flags & SQLITE_OPEN_WAL) == 0) return base->xOpen(base, name, f, flags, out_flags);
  auto* real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  f->pMethods = nullptr;  // until opened: SQLite then does not call xClose
  const int rc = base->xOpen(base, name, real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  WalFile* w = new (f) WalFile;
  w->real = real;
  w->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

sqlite3_vfs make_vfs(sqlite3_vfs* base) {
  // The rest (randomness, time, sleep, dynamic loading, system calls) are the
  // default VFS's functions as they are; the unix VFS's ignore the VFS argument.
  sqlite3_vfs v = *base;
  v.pNext = nullptr;
  v.zName = kName;
  v.pAppData = base;
  v.szOsFile = static_cast<int>(kRealOffset) + base->szOsFile;
  v.xOpen = vfs_open;
  v.xDelete = [](sqlite3_vfs* s, const char* n, int d) {
    return base_vfs(s)->xDelete(base_vfs(s), n, d);
  };
  v.xAccess = [](sqlite3_vfs* s, const char* n, int f, int* o) {
    return base_vfs(s)->xAccess(base_vfs(s), n, f, o);
  };
  v.xFullPathname = [](sqlite3_vfs* s, const char* n, int size, char* out) {
    return base_vfs(s)->xFullPathname(base_vfs(s), n, size, out);
  };
  return v;
}

}  // namespace

const char* wal_combining_vfs() {
  // Registered once for the process and never changed afterwards.
  static const bool registered = [] {
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    if (base == nullptr || base->szOsFile <= 0) return false;
    static sqlite3_vfs vfs = make_vfs(base);
    return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
  }();
  return registered ? kName : nullptr;
}

}  // namespace trackrelay::store::internal
