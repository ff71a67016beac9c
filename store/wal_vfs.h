// store/wal_vfs.h — an SQLite VFS for the event writer's connection that
// hands each commit's WAL frames to the kernel in a few large writes.
//
// SQLite writes every WAL frame as two pwrite()s (its 24-byte header, then
// the page): ~45 system calls for a commit of ~22 pages, each entering the
// file system separately. This VFS keeps the contiguous writes to a `-wal`
// file in a buffer and writes them (in 64 KiB pwrite()s: 2 for a typical
// commit instead of ~45) before anything that
// must see them: the sync of the commit (so synchronous=FULL still makes
// every frame durable before the commit returns, and no reader can see a
// frame before then: SQLite publishes frames in the WAL index only after
// the sync), a read, a size query, a truncate, a non-contiguous write, the
// close, or 1 MiB of buffered bytes. Every other file (the database, its
// shared memory) is the default VFS's own, untouched. Internal to store/.
// May call: SQLite.
#pragma once

namespace trackrelay::store::internal {

// The VFS's name for sqlite3_open_v2(), registered (on top of the default
// VFS, not as the default) on the first call; nullptr when SQLite refused to
// register it (callers then open with the default VFS).
const char* wal_combining_vfs();

}  // namespace trackrelay::store::internal
