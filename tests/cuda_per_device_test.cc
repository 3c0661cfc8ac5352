// kernels/cuda/per_device.h: a value worked out once per device, read by many threads.
#include "fulgur/kernels/cuda/per_device.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

using fulgur::cuda::detail::PerDevice;

TEST_CASE("PerDevice keeps one answer per device and never mixes devices") {
  PerDevice<int> sms;
  CHECK_FALSE(sms.find(0).has_value());
  sms.remember(3, 78);
  CHECK_FALSE(sms.find(0).has_value());
  REQUIRE(sms.find(3).has_value());
  CHECK(*sms.find(3) == 78);
  int computed = 0;
  CHECK(sms.get(3, [&] { return ++computed; }) == 78);  // remembered: not worked out again
  CHECK(computed == 0);
  CHECK(sms.get(1, [&] { return 132 + ++computed; }) == 133);
  CHECK(sms.get(1, [&] { return 132 + ++computed; }) == 133);
  CHECK(computed == 1);
}

TEST_CASE("PerDevice: a false answer is remembered too, and only what was remembered is found") {
  PerDevice<bool> runs;
  int computed = 0;
  CHECK_FALSE(runs.get(0, [&] { ++computed; return false; }));
  CHECK_FALSE(runs.get(0, [&] { ++computed; return true; }));
  CHECK(computed == 1);
  REQUIRE(runs.find(0).has_value());
  CHECK_FALSE(*runs.find(0));
}

TEST_CASE("PerDevice asks every time for devices it cannot remember") {
  PerDevice<int> memo;
  int computed = 0;
  for (int device : {-1, PerDevice<int>::kRemembered, 1000}) {
    const int first = memo.get(device, [&] { return ++computed; });
    const int second = memo.get(device, [&] { return ++computed; });
    CHECK(second == first + 1);  // worked out again
    memo.remember(device, 5);
    CHECK_FALSE(memo.find(device).has_value());
  }
  CHECK(computed == 6);
  CHECK(memo.get(PerDevice<int>::kRemembered - 1, [] { return 7; }) == 7);  // the last one kept
  CHECK(*memo.find(PerDevice<int>::kRemembered - 1) == 7);
}

TEST_CASE("PerDevice: threads asking at once all see their own device's answer") {
  PerDevice<int> memo;
  constexpr int kDevices = PerDevice<int>::kRemembered;
  std::atomic<int> computed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        const int device = (t * 7 + round) % kDevices;
        const int got = memo.get(device, [&] {
          computed.fetch_add(1);
          return 1000 + device;
        });
        if (got != 1000 + device) computed.store(-1'000'000);  // seen below as a failure
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(computed.load() >= kDevices);  // every device asked at least once...
  CHECK(computed.load() <= 8 * kDevices);  // ...and at most once per thread (a race, same answer)
  for (int d = 0; d < kDevices; ++d) {
    REQUIRE(memo.find(d).has_value());
    CHECK(*memo.find(d) == 1000 + d);
  }
}

}  // namespace
