// loadgen: single-threaded epoll load generator for the LuaAsio echo benchmarks.
//
//   loadgen pingpong --port P [--host H] [--conns N] [--size B] [--seconds S]
//   loadgen bulk     --port P [--host H] [--seconds S] [--block B]
//   loadgen accept   --port P [--host H] [--seconds S] [--inflight C]
//   loadgen idle     --port P [--host H] [--conns N] [--no-hold]
//   loadgen stream   --port P [--host H] [--mib M] [--block B]
//   loadgen churn    --port P --server-pid PID [--rounds R] [--conns N] [--inflight C]
//                    [--size B] [--close rst|fin|mixed] [--sources K] [--settle S]
//                    [--probe] [--gc] [--stop]
//
// Common options: --warmup S (default 0.5), --timeout S (set-up deadline,
// default 30), --server-pid PID (read the server's CPU time from
// /proc/PID/stat at the start and the end of the measured window, and its
// VmRSS for idle mode).
//
// Every echoed byte is verified against what was sent; partial reads and
// writes are handled; only round trips completed inside the measured window
// are counted. stream writes M MiB (default 512) on one connection as fast as
// the server takes them while it reads and verifies the echo, both at once,
// and reports MiB/s over the whole transfer. churn repeats rounds of N connections opened, used
// (one verified echo each), closed, and reads the server's VmRSS after each (see run_churn).
// Output: one line of key=value pairs on stdout (churn: one more per round). Exit status 0 on
// success, 2 if an echo did not match, 3 if set-up failed, 1 on usage errors.

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

struct Opts {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  int conns = -1;
  int size = 64;
  int block = 65536;
  int inflight = -1;  // accept: 32, churn: 256
  double seconds = 3;
  double warmup = 0.5;
  double timeout = 30;
  double settle = 1.0;
  long server_pid = 0;
  int mib = 512;
  bool hold = true;
  int rounds = 100;
  std::string close_mode = "rst";
  int sources = 1;
  bool probe = false, gc = false, stop = false;
};

Opts g_opt;
[[noreturn]] void usage();
sockaddr_in g_addr;
int g_ep = -1;
volatile sig_atomic_t g_stop = 0;

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

double cpu_self_s() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(3);
}

// utime + stime of the server process in clock ticks, or -1.
long long server_ticks() {
  if (!g_opt.server_pid) return -1;
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/stat", g_opt.server_pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2;  // now at field 3 (state)
  long long vals[16] = {0};
  for (int i = 3; i <= 15; i++) {
    char* end;
    if (i == 3) {
      p = strchr(p, ' ');
      if (!p) return -1;
      p++;
      continue;
    }
    vals[i] = strtoll(p, &end, 10);
    p = end;
  }
  return vals[14] + vals[15];
}

long server_rss_kb() {
  if (!g_opt.server_pid) return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", g_opt.server_pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, nullptr, 10);
  fclose(f);
  return kb;
}

// Where the server's resident memory is, in kB: anonymous (RssAnon), the brk heap of the main
// malloc arena ([heap] in smaps; a part of anon), and file-backed (RssFile: code, libraries).
struct RssSplit {
  long anon = -1, heap = -1, file = -1;
};
RssSplit server_rss_split() {
  RssSplit s;
  if (!g_opt.server_pid) return s;
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%ld/status", g_opt.server_pid);
  if (FILE* f = fopen(path, "r")) {
    while (fgets(line, sizeof line, f)) {
      if (!strncmp(line, "RssAnon:", 8)) s.anon = strtol(line + 8, nullptr, 10);
      if (!strncmp(line, "RssFile:", 8)) s.file = strtol(line + 8, nullptr, 10);
    }
    fclose(f);
  }
  snprintf(path, sizeof path, "/proc/%ld/smaps", g_opt.server_pid);
  if (FILE* f = fopen(path, "r")) {
    bool in_heap = false;
    while (fgets(line, sizeof line, f)) {
      // A mapping's header starts with its address in lower-case hex; its fields with a name.
      bool header = (line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f');
      if (header) in_heap = strstr(line, "[heap]") != nullptr;
      else if (in_heap && !strncmp(line, "Rss:", 4)) s.heap = (s.heap < 0 ? 0 : s.heap) + strtol(line + 4, nullptr, 10);
    }
    fclose(f);
    if (s.heap < 0) s.heap = 0;
  }
  return s;
}

// The measured window: CPU of server and client, wall time.
struct Window {
  uint64_t t0 = 0, t1 = 0;
  long long s0 = -1, s1 = -1;
  double c0 = 0, c1 = 0;
  void start() { s0 = server_ticks(); c0 = cpu_self_s(); t0 = now_ns(); }
  void stop() {
    if (!t0) start();  // aborted before the window opened: report an empty window
    t1 = now_ns(); s1 = server_ticks();
    c1 = cpu_self_s();
  }
  double secs() const { return (t1 - t0) / 1e9; }
  // Server CPU microseconds used in the window, or -1 if unknown.
  double server_us() const {
    if (s0 < 0 || s1 < 0) return -1;
    return double(s1 - s0) * 1e6 / double(sysconf(_SC_CLK_TCK));
  }
  double client_pct() const { return secs() > 1e-3 ? 100.0 * (c1 - c0) / secs() : 0.0; }
};

void print_cpu(const Window& w, double ops, const char* per) {
  double us = w.server_us();
  if (us >= 0) {
    printf(" server_cpu_pct=%.1f server_cpu_us_per_%s=%.3f", 100.0 * us / 1e6 / w.secs(), per,
           ops > 0 ? us / ops : 0.0);
  } else {
    printf(" server_cpu_pct=NA server_cpu_us_per_%s=NA", per);
  }
  printf(" client_cpu_pct=%.1f\n", w.client_pct());
}

void print_latency(std::vector<uint32_t>& lat) {
  if (lat.empty()) {
    printf(" mean_us=NA p50_us=NA p99_us=NA max_us=NA");
    return;
  }
  double sum = 0;
  for (uint32_t v : lat) sum += v;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    size_t i = size_t(p * (lat.size() - 1) + 0.5);
    return lat[i] / 1e3;
  };
  printf(" mean_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f", sum / lat.size() / 1e3, pct(0.50),
         pct(0.99), lat.back() / 1e3);
}

int new_socket() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = connect(fd, (sockaddr*)&g_addr, sizeof g_addr);
  if (r < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

void ep_add(int fd, uint32_t ev, uint64_t data) {
  epoll_event e{};
  e.events = ev;
  e.data.u64 = data;
  if (epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &e) < 0) die("epoll_ctl add");
}
void ep_mod(int fd, uint32_t ev, uint64_t data) {
  epoll_event e{};
  e.events = ev;
  e.data.u64 = data;
  if (epoll_ctl(g_ep, EPOLL_CTL_MOD, fd, &e) < 0) die("epoll_ctl mod");
}

bool connect_ok(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return false;
  if (err) errno = err;
  return err == 0;
}

enum Phase { SETUP, WARMUP, MEASURE, DONE };

// ---------------------------------------------------------------- pingpong

struct PConn {
  int fd = -1;
  uint32_t id = 0, round = 0;
  uint32_t events = 0;
  bool connected = false, established = false, dead = false;
  size_t wpos = 0, rpos = 0;
  uint64_t t0 = 0;
  std::vector<uint8_t> out, in;
};

int run_pingpong() {
  int n = g_opt.conns < 0 ? 1 : g_opt.conns;
  size_t size = size_t(g_opt.size);
  std::vector<PConn> cs(n);
  std::vector<uint32_t> lat;
  lat.reserve(1 << 20);
  uint64_t completed = 0, errors = 0, mismatches = 0;
  int opened = 0, established = 0, alive = 0;
  const int max_pending = 256;  // connections being set up at the same time
  Phase phase = SETUP;
  Window w;
  uint64_t t_begin = now_ns(), t_phase = 0;

  auto fill = [&](PConn& c) {
    for (size_t i = 0; i < size; i++) c.out[i] = uint8_t(c.id * 131u + c.round * 7u + i);
    c.wpos = c.rpos = 0;
    c.t0 = now_ns();
  };
  auto set_events = [&](PConn& c, uint32_t ev) {
    if (c.events != ev) {
      ep_mod(c.fd, ev, c.id);
      c.events = ev;
    }
  };
  auto kill = [&](PConn& c) {
    if (c.dead) return;
    c.dead = true;
    close(c.fd);
    errors++;
    alive--;
  };
  auto try_write = [&](PConn& c) {
    while (c.wpos < size) {
      ssize_t r = write(c.fd, c.out.data() + c.wpos, size - c.wpos);
      if (r > 0) {
        c.wpos += size_t(r);
      } else if (r < 0 && errno == EAGAIN) {
        set_events(c, EPOLLIN | EPOLLOUT);
        return;
      } else {
        kill(c);
        return;
      }
    }
    set_events(c, EPOLLIN);
  };
  auto open_one = [&]() {
    PConn& c = cs[opened];
    c.id = uint32_t(opened);
    c.out.resize(size);
    c.in.resize(size);
    c.fd = new_socket();
    if (c.fd < 0) die("connect");
    c.events = EPOLLOUT;
    ep_add(c.fd, c.events, c.id);
    opened++;
    alive++;
  };

  while (opened < n && opened < max_pending) open_one();
  std::vector<epoll_event> evs(1024);
  while (phase != DONE) {
    int k = epoll_wait(g_ep, evs.data(), int(evs.size()), 5);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < k; i++) {
      PConn& c = cs[evs[i].data.u64];
      if (c.dead) continue;
      uint32_t ev = evs[i].events;
      if (!c.connected) {
        if (!connect_ok(c.fd)) {
          kill(c);
          continue;
        }
        c.connected = true;
        fill(c);
        try_write(c);
        continue;
      }
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        ssize_t r = read(c.fd, c.in.data() + c.rpos, size - c.rpos);
        if (r > 0) {
          if (c.rpos + size_t(r) > c.wpos ||
              memcmp(c.in.data() + c.rpos, c.out.data() + c.rpos, size_t(r)) != 0) {
            mismatches++;
            kill(c);
            continue;
          }
          c.rpos += size_t(r);
          if (c.rpos == size) {
            uint64_t t = now_ns();
            if (phase == MEASURE) {
              completed++;
              lat.push_back(uint32_t(std::min<uint64_t>(t - c.t0, UINT32_MAX)));
            }
            if (!c.established) {
              c.established = true;
              established++;
              if (opened < n) open_one();
            }
            c.round++;
            fill(c);
            try_write(c);
            continue;
          }
        } else if (r == 0 || errno != EAGAIN) {
          kill(c);
          continue;
        }
      }
      if ((ev & EPOLLOUT) && c.wpos < size) try_write(c);
    }
    uint64_t t = now_ns();
    if (phase == SETUP) {
      if (established + int(errors) >= n) {
        if (errors) {
          printf("mode=pingpong conns=%d error=setup_failed established=%d\n", n, established);
          return 3;
        }
        phase = WARMUP;
        t_phase = t;
      } else if ((t - t_begin) / 1e9 > g_opt.timeout) {
        printf("mode=pingpong conns=%d error=setup_timeout established=%d\n", n, established);
        return 3;
      }
    } else if (phase == WARMUP && (t - t_phase) / 1e9 >= g_opt.warmup) {
      phase = MEASURE;
      w.start();
    } else if (phase == MEASURE && (t - w.t0) / 1e9 >= g_opt.seconds) {
      w.stop();
      phase = DONE;
    }
    if (alive == 0 && phase != DONE) break;
    if (mismatches) break;
  }
  if (phase != DONE) w.stop();
  printf("mode=pingpong conns=%d size=%zu seconds=%.3f rtt=%llu rtt_per_s=%.1f", n, size,
         w.secs(), (unsigned long long)completed, completed / w.secs());
  print_latency(lat);
  printf(" errors=%llu mismatches=%llu", (unsigned long long)errors,
         (unsigned long long)mismatches);
  print_cpu(w, double(completed), "rt");
  return mismatches ? 2 : (alive == 0 ? 3 : 0);
}

// A pseudo-random byte pattern of period bytes, repeated for extra more, so that any block of up
// to extra bytes starting at offset % period can be sent from it (and verified against it).
std::vector<uint8_t> make_pattern(size_t period, size_t extra) {
  std::vector<uint8_t> pat(period + extra);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < period; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pat[i] = uint8_t(x >> 24);
  }
  for (size_t i = period; i < pat.size(); i++) pat[i] = pat[i - period];
  return pat;
}

// -------------------------------------------------------------------- bulk

int run_bulk() {
  const size_t PERIOD = 65521;  // prime, so blocks do not line up with the pattern
  const size_t block = size_t(g_opt.block);
  const uint64_t max_outstanding = 8u << 20;
  std::vector<uint8_t> pat = make_pattern(PERIOD, block);
  std::vector<uint8_t> in(block);

  int fd = new_socket();
  if (fd < 0) die("connect");
  uint32_t events = EPOLLOUT;
  ep_add(fd, events, 0);
  bool connected = false;
  uint64_t woff = 0, roff = 0, counted = 0, mismatches = 0;
  Phase phase = WARMUP;
  Window w;
  uint64_t t_begin = now_ns();
  bool failed = false;
  epoll_event ev;
  while (phase != DONE && !failed) {
    int k = epoll_wait(g_ep, &ev, 1, 5);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    if (k == 1) {
      if (!connected) {
        if (!connect_ok(fd)) die("connect");
        connected = true;
        t_begin = now_ns();
      }
      if (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        // Drain what is there (bounded, so writing is not starved).
        for (int j = 0; j < 4; j++) {
          ssize_t r = read(fd, in.data(), block);
          if (r > 0) {
            if (roff + uint64_t(r) > woff ||
                memcmp(in.data(), pat.data() + roff % PERIOD, size_t(r)) != 0) {
              mismatches++;
              failed = true;
              break;
            }
            roff += uint64_t(r);
            if (phase == MEASURE) counted += uint64_t(r);
          } else if (r == 0 || errno != EAGAIN) {
            failed = true;
            break;
          } else {
            break;
          }
        }
      }
      if (!failed && (ev.events & EPOLLOUT) && woff - roff < max_outstanding) {
        ssize_t r = write(fd, pat.data() + woff % PERIOD, block);
        if (r > 0)
          woff += uint64_t(r);
        else if (r < 0 && errno != EAGAIN)
          failed = true;
      }
    }
    uint32_t want = EPOLLIN | (woff - roff < max_outstanding ? uint32_t(EPOLLOUT) : 0u);
    if (connected && want != events) {
      ep_mod(fd, want, 0);
      events = want;
    }
    uint64_t t = now_ns();
    if (phase == WARMUP && connected && (t - t_begin) / 1e9 >= g_opt.warmup) {
      phase = MEASURE;
      w.start();
    } else if (phase == MEASURE && (t - w.t0) / 1e9 >= g_opt.seconds) {
      w.stop();
      phase = DONE;
    } else if (phase == WARMUP && (t - t_begin) / 1e9 > g_opt.timeout) {
      failed = true;
    }
  }
  if (phase != DONE) w.stop();
  close(fd);
  double mb = counted / 1e6;
  printf("mode=bulk block=%zu seconds=%.3f bytes=%llu mb_per_s=%.1f errors=%d mismatches=%llu",
         block, w.secs(), (unsigned long long)counted, mb / w.secs(), failed && !mismatches ? 1 : 0,
         (unsigned long long)mismatches);
  print_cpu(w, mb, "mb");
  return mismatches ? 2 : (failed ? 3 : 0);
}

// ------------------------------------------------------------------ stream

// One connection streaming both ways at once: every write takes what the
// socket accepts, every read drains what is there, nothing waits for an echo.
int run_stream() {
  const size_t PERIOD = 65521;  // prime, so blocks do not line up with the pattern
  const size_t block = size_t(g_opt.block);
  const uint64_t total = uint64_t(g_opt.mib) << 20;
  std::vector<uint8_t> pat = make_pattern(PERIOD, block);
  std::vector<uint8_t> in(block);

  int fd = new_socket();
  if (fd < 0) die("connect");
  uint32_t events = EPOLLOUT;
  ep_add(fd, events, 0);
  bool connected = false, failed = false;
  uint64_t woff = 0, roff = 0, mismatches = 0;
  Window w;
  uint64_t t_begin = now_ns();
  epoll_event ev;
  while (roff < total && !failed) {
    int k = epoll_wait(g_ep, &ev, 1, 100);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    if (k == 1) {
      if (!connected) {
        if (!connect_ok(fd)) die("connect");
        connected = true;
        w.start();
      }
      while (woff < total) {
        size_t n = size_t(std::min<uint64_t>(block, total - woff));
        ssize_t r = write(fd, pat.data() + woff % PERIOD, n);
        if (r > 0) {
          woff += uint64_t(r);
        } else {
          if (r < 0 && errno != EAGAIN) failed = true;
          break;
        }
      }
      for (;;) {
        ssize_t r = read(fd, in.data(), block);
        if (r > 0) {
          if (roff + uint64_t(r) > woff || memcmp(in.data(), pat.data() + roff % PERIOD, size_t(r)) != 0) {
            mismatches++;
            failed = true;
            break;
          }
          roff += uint64_t(r);
        } else {
          if (r == 0 || errno != EAGAIN) failed = roff < total;
          break;
        }
      }
    }
    uint32_t want = EPOLLIN | (woff < total ? uint32_t(EPOLLOUT) : 0u);
    if (connected && want != events) {
      ep_mod(fd, want, 0);
      events = want;
    }
    if (!connected && (now_ns() - t_begin) / 1e9 > g_opt.timeout) failed = true;
  }
  w.stop();
  close(fd);
  double mib = roff / 1048576.0;
  printf("mode=stream mib=%d block=%zu seconds=%.3f mib_per_s=%.1f errors=%d mismatches=%llu", g_opt.mib,
         block, w.secs(), mib / w.secs(), failed && !mismatches ? 1 : 0, (unsigned long long)mismatches);
  print_cpu(w, mib, "mib");
  return mismatches ? 2 : (failed ? 3 : 0);
}

// ------------------------------------------------------------------ accept

struct AConn {
  int fd = -1;
  int state = 0;  // 0 connecting, 1 waiting for the echo
  uint8_t byte = 0;
  uint64_t t0 = 0;
};

int run_accept() {
  int c_n = g_opt.inflight;
  std::vector<AConn> cs(c_n);
  std::vector<uint32_t> lat;
  lat.reserve(1 << 20);
  uint64_t counter = 0, completed = 0, errors = 0, mismatches = 0;
  Phase phase = WARMUP;
  Window w;
  uint64_t t_begin = now_ns();

  auto start = [&](int i) {
    AConn& c = cs[i];
    c.fd = new_socket();
    if (c.fd < 0) {
      errors++;
      return false;
    }
    c.state = 0;
    c.byte = uint8_t(counter++ * 37 + 11);
    c.t0 = now_ns();
    ep_add(c.fd, EPOLLOUT, uint64_t(i));
    return true;
  };
  auto finish = [&](int i, bool ok) {
    AConn& c = cs[i];
    close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
    if (!ok) errors++;
    if (errors > 100 || mismatches) return;
    if (phase != DONE) start(i);
  };
  for (int i = 0; i < c_n; i++) start(i);
  std::vector<epoll_event> evs(256);
  while (phase != DONE) {
    int k = epoll_wait(g_ep, evs.data(), int(evs.size()), 5);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    for (int j = 0; j < k; j++) {
      int i = int(evs[j].data.u64);
      AConn& c = cs[i];
      if (c.fd < 0) continue;
      if (c.state == 0) {
        if (!connect_ok(c.fd)) {
          finish(i, false);
          continue;
        }
        ssize_t r = write(c.fd, &c.byte, 1);
        if (r != 1) {
          finish(i, false);
          continue;
        }
        c.state = 1;
        ep_mod(c.fd, EPOLLIN, uint64_t(i));
      } else {
        uint8_t b;
        ssize_t r = read(c.fd, &b, 1);
        if (r < 0 && errno == EAGAIN) continue;
        if (r != 1) {
          finish(i, false);
          continue;
        }
        if (b != c.byte) {
          mismatches++;
          finish(i, false);
          continue;
        }
        if (phase == MEASURE) {
          completed++;
          lat.push_back(uint32_t(std::min<uint64_t>(now_ns() - c.t0, UINT32_MAX)));
        }
        finish(i, true);
      }
    }
    uint64_t t = now_ns();
    if (phase == WARMUP && (t - t_begin) / 1e9 >= g_opt.warmup) {
      phase = MEASURE;
      w.start();
    } else if (phase == MEASURE && (t - w.t0) / 1e9 >= g_opt.seconds) {
      w.stop();
      phase = DONE;
    }
    if (errors > 100 || mismatches) break;
  }
  if (phase != DONE) w.stop();
  for (auto& c : cs)
    if (c.fd >= 0) close(c.fd);
  printf("mode=accept inflight=%d seconds=%.3f conns=%llu conns_per_s=%.1f", c_n, w.secs(),
         (unsigned long long)completed, completed / w.secs());
  print_latency(lat);
  printf(" errors=%llu mismatches=%llu", (unsigned long long)errors,
         (unsigned long long)mismatches);
  print_cpu(w, double(completed), "conn");
  return mismatches ? 2 : (errors > 100 ? 3 : 0);
}

// -------------------------------------------------------------------- idle

void on_signal(int) { g_stop = 1; }

int run_idle() {
  int n = g_opt.conns < 0 ? 10000 : g_opt.conns;
  struct IConn {
    int fd = -1;
    int state = 0;  // 0 connecting, 1 waiting for the echo, 2 established, 3 dead
  };
  std::vector<IConn> cs(n);
  const int max_pending = 200;
  int opened = 0, established = 0, pending = 0;
  uint64_t errors = 0, mismatches = 0, lost = 0;
  long rss0 = server_rss_kb();
  uint64_t t_begin = now_ns();

  auto open_one = [&]() {
    IConn& c = cs[opened];
    c.fd = new_socket();
    if (c.fd < 0) die("connect");
    ep_add(c.fd, EPOLLOUT, uint64_t(opened));
    opened++;
    pending++;
  };
  auto fail = [&](IConn& c) {
    if (c.state == 2) {
      lost++;
      established--;
    } else {
      errors++;
      pending--;
    }
    c.state = 3;
    close(c.fd);
  };
  std::vector<epoll_event> evs(256);
  auto poll_once = [&](int timeout_ms) {
    int k = epoll_wait(g_ep, evs.data(), int(evs.size()), timeout_ms);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    for (int j = 0; j < k; j++) {
      IConn& c = cs[evs[j].data.u64];
      if (c.state == 0) {
        if (!connect_ok(c.fd)) {
          fail(c);
          continue;
        }
        uint8_t b = uint8_t(evs[j].data.u64);
        if (write(c.fd, &b, 1) != 1) {
          fail(c);
          continue;
        }
        c.state = 1;
        ep_mod(c.fd, EPOLLIN, evs[j].data.u64);
      } else if (c.state == 1) {
        uint8_t b;
        ssize_t r = read(c.fd, &b, 1);
        if (r < 0 && errno == EAGAIN) continue;
        if (r != 1 || b != uint8_t(evs[j].data.u64)) {
          if (r == 1) mismatches++;
          fail(c);
          continue;
        }
        c.state = 2;
        established++;
        pending--;
      } else if (c.state == 2) {
        // Only EOF or an error can wake an established idle connection.
        uint8_t b;
        ssize_t r = read(c.fd, &b, 1);
        if (r < 0 && errno == EAGAIN) continue;
        if (r == 1) mismatches++;
        fail(c);
      }
    }
  };
  while (established + int(errors) < n) {
    while (opened < n && pending < max_pending) open_one();
    poll_once(5);
    if (errors > 0 || (now_ns() - t_begin) / 1e9 > g_opt.timeout) break;
  }
  double setup_s = (now_ns() - t_begin) / 1e9;
  // Let the server settle (finish its writes, run its GC steps), then look.
  uint64_t t_settle = now_ns();
  while ((now_ns() - t_settle) / 1e9 < g_opt.settle) poll_once(20);
  long rss1 = server_rss_kb();
  bool ok = established == n && !mismatches;
  printf("mode=idle conns=%d established=%d setup_s=%.3f errors=%llu lost=%llu mismatches=%llu", n,
         established, setup_s, (unsigned long long)errors, (unsigned long long)lost,
         (unsigned long long)mismatches);
  if (rss0 >= 0 && rss1 >= 0)
    printf(" server_rss_before_kb=%ld server_rss_after_kb=%ld bytes_per_conn=%.0f", rss0, rss1,
           established ? (rss1 - rss0) * 1024.0 / established : 0.0);
  else
    printf(" server_rss_before_kb=NA server_rss_after_kb=NA bytes_per_conn=NA");
  printf(" %s\n", ok ? "status=ready" : "status=failed");
  fflush(stdout);
  if (ok && g_opt.hold) {
    // Hold the connections until stdin closes or a signal arrives.
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, on_signal);
    char buf[256];
    while (!g_stop) {
      pollfd p{0, POLLIN, 0};
      int r = poll(&p, 1, 100);
      if (r > 0) {
        ssize_t m = read(0, buf, sizeof buf);
        if (m <= 0) break;
      } else if (r < 0 && errno != EINTR) {
        break;
      }
      poll_once(0);
    }
  }
  for (auto& c : cs)
    if (c.state != 3 && c.fd >= 0) close(c.fd);
  return mismatches ? 2 : (ok ? 0 : 3);
}

// ------------------------------------------------------------------- churn

// Descriptors the server process has open (entries of /proc/PID/fd), or -1.
int server_fds() {
  if (!g_opt.server_pid) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/fd", g_opt.server_pid);
  DIR* d = opendir(path);
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

// One request on a connection of its own, blocking and bounded by 5 s: writes line and returns
// what the server wrote back until it closed, without the final newline ("" on failure). The
// server closes first, so the TIME_WAIT stays on its side.
std::string control_request(const char* line) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string reply;
  size_t len = strlen(line);
  if (connect(fd, (sockaddr*)&g_addr, sizeof g_addr) == 0 && write(fd, line, len) == ssize_t(len)) {
    char buf[512];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) reply.append(buf, size_t(r));
    if (r < 0) reply.clear();
  }
  close(fd);
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
  return reply;
}

// " prefix" + each key of a "k=v k=v" reply, for one output line; " prefix_reply=none" if empty.
std::string prefixed(const std::string& reply, const char* prefix) {
  if (reply.empty()) return std::string(" ") + prefix + "reply=none";
  std::string out = std::string(" ") + prefix;
  for (char ch : reply) {
    if (ch == ' ') out += std::string(" ") + prefix;
    else out += ch;
  }
  return out;
}

// Rounds of N connections opened, used and closed, for the flat-memory figure. Per round: open
// N connections, at most C of them connecting or echoing at once, each doing one verified echo of
// B bytes (a per-connection, per-round pattern) and then staying open until all N are; read the
// server's VmRSS (open_rss); close them all; wait until the server holds no more descriptors than
// before the first round (it has closed its side of each); settle S seconds; read VmRSS again
// (rss). --close rst closes with SO_LINGER {1,0}: a reset, no TIME_WAIT, the server's read fails
// with "connection reset by peer". fin shuts the write side down and waits for the server's EOF
// (the server reads end of stream, closes, the client sees it): the client's side then sits in
// TIME_WAIT, so spread it over --sources K addresses 127.0.0.1..K. mixed alternates the two by
// connection. --probe sends "churn-probe\n" on a connection of its own after each round and
// prints the reply; --gc (a diagnostic) sends "churn-gc\n" once the server has closed its side,
// before the settle and the RSS reading, so the server collects its garbage first; --stop sends
// "churn-stop\n" at the end (echo_asio_churn.lua understands all three). Any error or mismatch
// ends the run, and so does a round whose opening or closing takes longer than --timeout.
int run_churn() {
  const int n = g_opt.conns < 0 ? 10000 : g_opt.conns;
  const int inflight = g_opt.inflight;
  const size_t size = size_t(g_opt.size);
  const int sources = std::max(1, g_opt.sources);
  const std::string& mode = g_opt.close_mode;
  if (!g_opt.server_pid || (mode != "rst" && mode != "fin" && mode != "mixed")) usage();
  enum State : uint8_t { IDLE, CONNECTING, ECHO, OPEN, CLOSING };
  struct CConn {
    int fd = -1;
    State state = IDLE;
    uint32_t wpos = 0, rpos = 0;
  };
  std::vector<CConn> cs(n);
  std::vector<uint8_t> out(size), in(size);
  std::vector<epoll_event> evs(1024);
  uint64_t mismatches = 0;
  std::string error;
  int round = 0, done_rounds = 0;
  long rss_first = -1, rss_last = -1, rss_max = -1, open_first = -1, open_last = -1, open_max = -1;
  const int fds0 = server_fds();
  const uint64_t t_run = now_ns();

  auto pattern = [&](int id, size_t from, size_t len, uint8_t* dst) {
    for (size_t i = 0; i < len; i++) dst[i] = uint8_t(uint32_t(id) * 131u + uint32_t(round) * 7u + from + i);
  };
  auto fail = [&](const char* what, int id) {
    if (error.empty()) {
      char msg[256];
      snprintf(msg, sizeof msg, "%s(conn_%d,round_%d,%s)", what, id, round, errno ? strerror(errno) : "-");
      error = msg;
      for (char& ch : error)
        if (ch == ' ') ch = '_';
    }
  };
  auto open_one = [&](int id) {
    CConn& c = cs[id];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return fail("socket", id);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sources > 1) {
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
      // The port is chosen at connect time, per destination, not reserved by bind.
      setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in a = g_addr;
      a.sin_port = 0;
      a.sin_addr.s_addr = htonl(ntohl(g_addr.sin_addr.s_addr) + uint32_t(id % sources));
      if (bind(c.fd, (sockaddr*)&a, sizeof a) < 0) return fail("bind", id);
    }
    c.state = CONNECTING;
    c.wpos = c.rpos = 0;
    ep_add(c.fd, EPOLLOUT, uint64_t(id));
    int r = connect(c.fd, (sockaddr*)&g_addr, sizeof g_addr);
    if (r < 0 && errno != EINPROGRESS) fail("connect", id);
  };
  auto try_write = [&](int id) {
    CConn& c = cs[id];
    pattern(id, c.wpos, size - c.wpos, out.data());
    ssize_t r = write(c.fd, out.data(), size - c.wpos);
    if (r > 0) c.wpos += uint32_t(r);
    else if (!(r < 0 && errno == EAGAIN)) return fail("write", id);
    ep_mod(c.fd, c.wpos < size ? EPOLLIN | EPOLLOUT : EPOLLIN, uint64_t(id));
  };
  // Reads what is there on connection id; returns the byte count, 0 at EOF, -1 for nothing yet.
  auto try_read = [&](int id) -> ssize_t {
    CConn& c = cs[id];
    size_t room = c.state == ECHO ? size - c.rpos : size;
    ssize_t r = read(c.fd, in.data(), room);
    if (r < 0 && errno == EAGAIN) return -1;
    if (r < 0) {
      fail(c.state == CLOSING ? "read_at_close" : "read", id);
      return -1;
    }
    return r;
  };
  auto deadline_passed = [&](uint64_t since) { return (now_ns() - since) / 1e9 > g_opt.timeout; };

  for (round = 1; round <= g_opt.rounds && error.empty(); round++) {
    const uint64_t t0 = now_ns();
    int next = 0, active = 0, open = 0;
    while (open < n && error.empty()) {
      while (next < n && active < inflight && error.empty()) {
        open_one(next++);
        active++;
      }
      int k = epoll_wait(g_ep, evs.data(), int(evs.size()), 5);
      if (k < 0 && errno != EINTR) die("epoll_wait");
      for (int j = 0; j < k && error.empty(); j++) {
        int id = int(evs[j].data.u64);
        CConn& c = cs[id];
        uint32_t ev = evs[j].events;
        if (c.state == CONNECTING) {
          if (!connect_ok(c.fd)) {
            fail("connect", id);
            break;
          }
          c.state = ECHO;
          try_write(id);
        } else if (c.state == ECHO) {
          if ((ev & EPOLLOUT) && c.wpos < size) try_write(id);
          if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
          ssize_t r = try_read(id);
          if (r < 0) continue;
          if (r == 0) {
            errno = 0;
            fail("server_closed_during_echo", id);
            break;
          }
          pattern(id, c.rpos, size_t(r), out.data());
          if (c.rpos + size_t(r) > c.wpos || memcmp(in.data(), out.data(), size_t(r)) != 0) {
            mismatches++;
            errno = 0;
            fail("mismatch", id);
            break;
          }
          c.rpos += uint32_t(r);
          if (c.rpos == size) {
            c.state = OPEN;  // stays registered for EPOLLIN: only a server's close would wake it
            active--;
            open++;
          }
        } else if (c.state == OPEN) {
          ssize_t r = try_read(id);
          if (r >= 0) {
            if (r > 0) mismatches++;
            errno = 0;
            fail(r > 0 ? "unexpected_data" : "server_closed_an_open_connection", id);
          }
        }
      }
      if (error.empty() && deadline_passed(t0)) {
        errno = 0;
        fail("round_timeout", open);
      }
    }
    if (!error.empty()) break;
    const double open_s = (now_ns() - t0) / 1e9;
    const long open_rss = server_rss_kb();
    const int open_fds = server_fds();

    // Close them all, then wait for the server to have closed its side.
    const uint64_t t1 = now_ns();
    int closing = 0;
    for (int id = 0; id < n; id++) {
      CConn& c = cs[id];
      bool fin = mode == "fin" || (mode == "mixed" && id % 2 == 1);
      if (fin) {
        if (shutdown(c.fd, SHUT_WR) < 0) fail("shutdown", id);
        c.state = CLOSING;
        closing++;
      } else {
        linger lg{1, 0};
        setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(c.fd);
        c.fd = -1;
        c.state = IDLE;
      }
    }
    while (closing > 0 && error.empty()) {
      int k = epoll_wait(g_ep, evs.data(), int(evs.size()), 5);
      if (k < 0 && errno != EINTR) die("epoll_wait");
      for (int j = 0; j < k && error.empty(); j++) {
        int id = int(evs[j].data.u64);
        CConn& c = cs[id];
        if (c.state != CLOSING) continue;
        ssize_t r = try_read(id);
        if (r < 0) continue;
        if (r > 0) {
          mismatches++;
          errno = 0;
          fail("data_after_shutdown", id);
          break;
        }
        close(c.fd);  // after the server's FIN: this side goes to TIME_WAIT
        c.fd = -1;
        c.state = IDLE;
        closing--;
      }
      if (error.empty() && deadline_passed(t1)) {
        errno = 0;
        fail("no_eof_from_server", closing);
      }
    }
    if (!error.empty()) break;
    int fds = server_fds();
    while (fds > fds0 && error.empty()) {
      if (deadline_passed(t1)) {
        errno = 0;
        fail("server_kept_descriptors", fds - fds0);
        break;
      }
      usleep(2000);
      fds = server_fds();
    }
    if (!error.empty()) break;
    const double close_s = (now_ns() - t1) / 1e9;
    std::string gc_reply;
    if (g_opt.gc) gc_reply = prefixed(control_request("churn-gc\n"), "gc_");
    usleep(useconds_t(g_opt.settle * 1e6));
    const long rss = server_rss_kb();
    const RssSplit split = server_rss_split();
    if (rss < 0 || open_rss < 0) {
      errno = 0;
      fail("no_server_rss", 0);
      break;
    }
    done_rounds = round;
    if (round == 1) {
      rss_first = rss;
      open_first = open_rss;
    }
    rss_last = rss;
    open_last = open_rss;
    rss_max = std::max(rss_max, rss);
    open_max = std::max(open_max, open_rss);
    printf("round=%d conns=%d open_s=%.3f close_s=%.3f open_rss_kb=%ld rss_kb=%ld anon_kb=%ld heap_kb=%ld"
           " file_kb=%ld open_fds=%d fds=%d", round, n, open_s, close_s, open_rss, rss, split.anon, split.heap,
           split.file, open_fds, fds);
    printf("%s", gc_reply.c_str());
    if (g_opt.probe) printf("%s", prefixed(control_request("churn-probe\n"), "probe_").c_str());
    printf("\n");
    fflush(stdout);
  }
  for (auto& c : cs)
    if (c.fd >= 0) close(c.fd);
  auto ratio = [](long a, long b) { return b > 0 ? double(a) / double(b) : 0.0; };
  printf("mode=churn rounds=%d rounds_done=%d conns=%d inflight=%d size=%zu close=%s sources=%d seconds=%.1f",
         g_opt.rounds, done_rounds, n, inflight, size, mode.c_str(), sources, (now_ns() - t_run) / 1e9);
  printf(" rss_first_kb=%ld rss_last_kb=%ld rss_max_kb=%ld last_over_first=%.4f max_over_first=%.4f", rss_first,
         rss_last, rss_max, ratio(rss_last, rss_first), ratio(rss_max, rss_first));
  printf(" open_rss_first_kb=%ld open_rss_last_kb=%ld open_rss_max_kb=%ld open_last_over_first=%.4f"
         " open_max_over_first=%.4f", open_first, open_last, open_max, ratio(open_last, open_first),
         ratio(open_max, open_first));
  printf(" errors=%d mismatches=%llu", error.empty() ? 0 : 1, (unsigned long long)mismatches);
  if (!error.empty()) printf(" error=%s", error.c_str());
  if (g_opt.stop) printf("%s", prefixed(control_request("churn-stop\n"), "live_").c_str());
  printf("\n");
  return mismatches ? 2 : (error.empty() ? 0 : 3);
}

[[noreturn]] void usage() {
  fprintf(stderr,
          "usage: loadgen pingpong|bulk|accept|idle|stream|churn --port P [--host H] [--conns N]\n"
          "       [--size B] [--block B] [--inflight C] [--seconds S] [--warmup S]\n"
          "       [--timeout S] [--settle S] [--server-pid PID] [--no-hold] [--mib M]\n"
          "       [--rounds R] [--close rst|fin|mixed] [--sources K] [--probe] [--gc] [--stop]\n");
  exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  g_opt.mode = argv[1];
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--host") g_opt.host = val();
    else if (a == "--port") g_opt.port = atoi(val());
    else if (a == "--conns") g_opt.conns = atoi(val());
    else if (a == "--size") g_opt.size = atoi(val());
    else if (a == "--block") g_opt.block = atoi(val());
    else if (a == "--inflight") g_opt.inflight = atoi(val());
    else if (a == "--seconds") g_opt.seconds = atof(val());
    else if (a == "--warmup") g_opt.warmup = atof(val());
    else if (a == "--timeout") g_opt.timeout = atof(val());
    else if (a == "--settle") g_opt.settle = atof(val());
    else if (a == "--server-pid") g_opt.server_pid = atol(val());
    else if (a == "--no-hold") g_opt.hold = false;
    else if (a == "--mib") g_opt.mib = atoi(val());
    else if (a == "--rounds") g_opt.rounds = atoi(val());
    else if (a == "--close") g_opt.close_mode = val();
    else if (a == "--sources") g_opt.sources = atoi(val());
    else if (a == "--probe") g_opt.probe = true;
    else if (a == "--gc") g_opt.gc = true;
    else if (a == "--stop") g_opt.stop = true;
    else usage();
  }
  if (g_opt.inflight < 0) g_opt.inflight = g_opt.mode == "churn" ? 256 : 32;
  if (g_opt.port <= 0 || g_opt.size <= 0 || g_opt.block <= 0 || g_opt.inflight <= 0 || g_opt.rounds <= 0)
    usage();
  memset(&g_addr, 0, sizeof g_addr);
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons(uint16_t(g_opt.port));
  if (inet_pton(AF_INET, g_opt.host.c_str(), &g_addr.sin_addr) != 1) {
    fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  if (g_ep < 0) die("epoll_create1");
  int rc;
  if (g_opt.mode == "pingpong") rc = run_pingpong();
  else if (g_opt.mode == "bulk") rc = run_bulk();
  else if (g_opt.mode == "accept") rc = run_accept();
  else if (g_opt.mode == "idle") rc = run_idle();
  else if (g_opt.mode == "stream") rc = run_stream();
  else if (g_opt.mode == "churn") rc = run_churn();
  else usage();
  fflush(stdout);
  return rc;
}
