// tests/store/event_spool_test.cc — EventSpool: events survive on disk in
// order with every field, a failing ship keeps the file, files of writers
// that died are shipped by another writer (a live writer's are not), a drain
// stopped at its deadline resumes where it stopped, and a damaged record is
// reported and kept, never deleted.
#include "store/event_spool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "store_test_util.h"

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
using TempDir = testing::TempDir;

Event make(int i) {
  Event e;
  e.event_id = std::to_string(1000 + i);
  e.type = i % 2 == 0 ? "click" : "open";
  e.timestamp_ms = 1700000000000 + i;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://example.com/a?b=1&c=\"2\"\n";
  e.target_link_name = "cta";
  e.message_id = "m1@example.com";
  e.rcpt_to = "alice@example.net";
  e.campaign_id = "c\xc3\xa9";
  e.sending_domain = "example.com";
  e.user_agent = "Mozilla/5.0";
  e.ip_address = "192.0.2.7";
  e.method = "GET";
  e.subaccount_id = i;
  e.transmission_id = "42";
  e.rcpt_meta = R"({"a":1})";
  e.rcpt_tags = R"(["t"])";
  e.msg_size = 12345;
  e.classification = "human";
  e.classification_reasons = {"quick_click", "burst"};
  return e;
}

std::vector<std::string> spool_files(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().string().ends_with(suffix)) out.push_back(f.path().string());
  }
  return out;
}

std::unique_ptr<EventSpool> open_spool(const std::string& dir) {
  auto s = EventSpool::open(dir);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

// Collects what a drain ships.
struct Sink {
  std::vector<Event> got;
  std::size_t calls = 0;
  EventSpool::Ship ship() {
    return [this](std::vector<Event>& batch) -> Result<bool> {
      ++calls;
      got.insert(got.end(), batch.begin(), batch.end());
      return true;
    };
  }
};

TEST(EventSpool, ShipsEveryFieldInOrderThenRemovesTheFile) {
  TempDir tmp;
  const std::string dir = tmp.file("spool");
  auto spool = open_spool(dir);
  ASSERT_TRUE(spool);
  EXPECT_FALSE(spool->holding());
  std::vector<Event> first{make(0), make(1), make(2)};
  ASSERT_TRUE(spool->append(first).ok());
  std::vector<Event> second{make(3), make(4)};
  ASSERT_TRUE(spool->append(second).ok());
  EXPECT_TRUE(spool->holding());
  EXPECT_EQ(spool->pending(), 5u);
  EXPECT_EQ(spool_files(dir, ".spool").size(), 1u);

  Sink sink;
  auto shipped = spool->drain(sink.ship(), 2);
  ASSERT_TRUE(shipped.ok()) << shipped.error();
  EXPECT_EQ(*shipped, 5u);
  EXPECT_EQ(sink.calls, 3u);  // batches of 2, 2, 1
  ASSERT_EQ(sink.got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const Event want = make(i);
    const Event& e = sink.got[static_cast<std::size_t>(i)];
    EXPECT_EQ(e.event_id, want.event_id);
    EXPECT_EQ(e.type, want.type);
    EXPECT_EQ(e.timestamp_ms, want.timestamp_ms);
    EXPECT_EQ(e.target_link_url, want.target_link_url);
    EXPECT_EQ(e.campaign_id, want.campaign_id);
    EXPECT_EQ(e.subaccount_id, want.subaccount_id);
    EXPECT_EQ(e.rcpt_meta, want.rcpt_meta);
    EXPECT_EQ(e.rcpt_tags, want.rcpt_tags);
    EXPECT_EQ(e.msg_size, want.msg_size);
    EXPECT_EQ(e.classification_reasons, want.classification_reasons);
  }
  EXPECT_FALSE(spool->holding());
  EXPECT_EQ(spool->pending(), 0u);
  EXPECT_TRUE(spool_files(dir, ".spool").empty());
  // Nothing left: a second drain ships nothing.
  Sink again;
  EXPECT_EQ(*spool->drain(again.ship(), 10), 0u);
}

TEST(EventSpool, FailingShipKeepsTheFileForTheNextDrain) {
  TempDir tmp;
  auto spool = open_spool(tmp.file("spool"));
  ASSERT_TRUE(spool);
  std::vector<Event> events{make(0), make(1), make(2)};
  ASSERT_TRUE(spool->append(events).ok());
  std::size_t calls = 0;
  auto failing = [&calls](std::vector<Event>&) -> Result<bool> {
    if (++calls == 2) return Error{"connection refused"};
    return true;
  };
  auto r = spool->drain(failing, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "connection refused");
  EXPECT_TRUE(spool->holding());
  EXPECT_EQ(spool->pending(), 3u);
  // Events spooled after the failure go behind the earlier ones.
  std::vector<Event> later{make(3)};
  ASSERT_TRUE(spool->append(later).ok());
  Sink sink;
  ASSERT_EQ(*spool->drain(sink.ship(), 100), 4u);  // from the start: shipping is idempotent
  ASSERT_EQ(sink.got.size(), 4u);
  EXPECT_EQ(sink.got[3].event_id, make(3).event_id);
}

TEST(EventSpool, ADrainStoppedAtItsDeadlineResumesWhereItStopped) {
  TempDir tmp;
  const std::string dir = tmp.file("spool");
  auto spool = open_spool(dir);
  ASSERT_TRUE(spool);
  std::vector<Event> events{make(0), make(1), make(2), make(3), make(4)};
  ASSERT_TRUE(spool->append(events).ok());
  Sink sink;
  // A deadline already passed: one batch, then it stops.
  auto shipped = spool->drain(sink.ship(), 2, std::chrono::steady_clock::now());
  ASSERT_TRUE(shipped.ok()) << shipped.error();
  EXPECT_EQ(*shipped, 2u);
  EXPECT_TRUE(spool->unfinished());
  EXPECT_TRUE(spool->holding());
  EXPECT_EQ(spool->pending(), 3u);
  // Events spooled meanwhile go behind the rest.
  std::vector<Event> later{make(5)};
  ASSERT_TRUE(spool->append(later).ok());
  shipped = spool->drain(sink.ship(), 2);
  ASSERT_TRUE(shipped.ok()) << shipped.error();
  EXPECT_EQ(*shipped, 4u);
  EXPECT_FALSE(spool->unfinished());
  ASSERT_EQ(sink.got.size(), 6u);  // each once, in order
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(sink.got[static_cast<std::size_t>(i)].event_id, make(i).event_id);
  }
  EXPECT_FALSE(spool->holding());
  EXPECT_TRUE(spool_files(dir, ".spool").empty());
}

TEST(EventSpool, ShipsFilesOfDeadWritersButNotOfLiveOnes) {
  TempDir tmp;
  const std::string dir = tmp.file("spool");
  {
    auto dead = open_spool(dir);  // a process killed with events spooled
    std::vector<Event> events{make(0), make(1)};
    ASSERT_TRUE(dead->append(events).ok());
  }
  auto live = open_spool(dir);
  std::vector<Event> live_events{make(7)};
  ASSERT_TRUE(live->append(live_events).ok());

  auto other = open_spool(dir);
  Sink sink;
  ASSERT_EQ(*other->drain(sink.ship(), 100), 2u);
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(sink.got[0].event_id, make(0).event_id);
  EXPECT_EQ(spool_files(dir, ".spool").size(), 1u);  // the live writer's
  EXPECT_TRUE(live->holding());

  Sink own;
  ASSERT_EQ(*live->drain(own.ship(), 100), 1u);
  EXPECT_EQ(own.got[0].event_id, make(7).event_id);
  EXPECT_TRUE(spool_files(dir, ".spool").empty());
}

TEST(EventSpool, DamagedRecordIsReportedAndKept) {
  TempDir tmp;
  const std::string dir = tmp.file("spool");
  {
    auto dead = open_spool(dir);
    std::vector<Event> events{make(0), make(1)};
    ASSERT_TRUE(dead->append(events).ok());
  }
  const auto files = spool_files(dir, ".spool");
  ASSERT_EQ(files.size(), 1u);
  {
    std::ofstream f(files[0], std::ios::app | std::ios::binary);
    f << "\x10\x00\x00\x00garbage";  // a torn record: length 16, 7 bytes
  }
  auto spool = open_spool(dir);
  Sink sink;
  ASSERT_EQ(*spool->drain(sink.ship(), 100), 2u);
  EXPECT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(spool->damaged(), 1u);
  EXPECT_TRUE(spool_files(dir, ".spool").empty());
  EXPECT_EQ(spool_files(dir, ".damaged").size(), 1u);
}

TEST(EventSpool, CorruptPayloadIsDetected) {
  TempDir tmp;
  const std::string dir = tmp.file("spool");
  {
    auto dead = open_spool(dir);
    std::vector<Event> events{make(0), make(1)};
    ASSERT_TRUE(dead->append(events).ok());
  }
  const std::string file = spool_files(dir, ".spool").at(0);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-5, std::ios::end);
    f.put('X');  // one flipped byte inside the second record's payload
  }
  auto spool = open_spool(dir);
  Sink sink;
  ASSERT_EQ(*spool->drain(sink.ship(), 100), 1u);
  EXPECT_EQ(spool->damaged(), 1u);
}

TEST(EventSpool, PayloadRoundTripsAndRejectsGarbage) {
  const Event e = make(3);
  auto back = internal::spool_event(internal::spool_payload(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->user_agent, e.user_agent);
  EXPECT_EQ(back->classification, e.classification);
  EXPECT_FALSE(internal::spool_event("{}").ok());
  EXPECT_FALSE(internal::spool_event("not json").ok());
  EXPECT_FALSE(internal::spool_event(R"({"event_id":"1","type":"bogus"})").ok());
}

TEST(EventSpool, DirectoryThatCannotBeMadeIsAnError) {
  // A path under a regular file cannot be a directory (for root too).
  TempDir tmp;
  std::ofstream(tmp.file("file")) << "x";
  auto s = EventSpool::open(tmp.file("file") + "/spool");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("file/spool"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace trackrelay::store
