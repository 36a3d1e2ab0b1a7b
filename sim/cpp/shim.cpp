// The C ABI between the Rust `sim` crate and one verilated top (see sim/src/lib.rs).
//
// One copy of this file is compiled per model, with `vsim_config.h` (written by the Rust
// builder from the ports it parsed out of V<top>.h) naming the top class and its widths.
// The whole clock loop lives in vsim_run so that Rust pays one FFI call per run, not per
// cycle: the per-cycle work must stay identical to a plain C++ testbench.
//
// Every exported function is noexcept towards Rust: Verilator errors (vl_fatal, $stop, a
// failed assertion) are turned into C++ exceptions by our vl_fatal below, caught here and
// reported as a status, because the default vl_fatal would abort() the Rust process.

#include "vsim_config.h"

#include VSIM_TOP_HEADER
#include "verilated.h"
#if VM_TRACE
// One writer per model: Verilator compiles either the FST (--trace-fst) or the VCD writer in.
#if VM_TRACE_FST
#include "verilated_fst_c.h"
using VsimTrace = VerilatedFstC;
#else
#include "verilated_vcd_c.h"
using VsimTrace = VerilatedVcdC;
#endif
#endif

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#define VSIM_EXPORT extern "C" __attribute__((visibility("default")))

// Bump when any struct or function below changes; the Rust side refuses a mismatch.
#define VSIM_ABI_VERSION 2

enum VsimStatus : uint32_t {
    VSIM_DONE = 0,          // stop condition reached (all beats, or the exact cycle count)
    VSIM_MAX_CYCLES = 1,    // cycle limit hit with work pending
    VSIM_STALLED = 2,       // watchdog: no beat in or out for `watchdog` cycles
    VSIM_EXTRA_OUTPUT = 3,  // an output beat beyond `expected_outputs` was accepted
    VSIM_OUT_FULL = 4,      // exact-cycles mode: output buffer full, call again with more room
    VSIM_FINISHED = 5,      // the design called $finish
    VSIM_FATAL = 6,         // Verilator runtime error (message via vsim_error)
    VSIM_BROKEN = 7,        // an earlier fatal error left the model unusable
};

enum VsimMode : uint32_t {
    VSIM_UNTIL_DONE = 0,
    VSIM_EXACT_CYCLES = 1,
};

struct VsimInfo {
    uint32_t abi_version;
    uint32_t in_bits;
    uint32_t out_bits;
    uint32_t probe_words;
    uint32_t trace;
    uint32_t trace_fst;
    uint32_t reserved[2];
};

struct VsimRunArgs {
    const uint32_t* in_words;  // in_beats * ceil(in_bits/32) words
    uint64_t in_beats;
    uint32_t* out_words;  // out_capacity * ceil(out_bits/32) words
    uint64_t* in_cycles;  // in_beats entries
    uint64_t* out_cycles;  // out_capacity entries
    uint64_t out_capacity;
    uint64_t expected_outputs;  // UNTIL_DONE only
    const uint8_t* in_valid_pattern;  // NULL or len 0: offer a new beat every cycle
    uint64_t in_valid_len;
    const uint8_t* out_ready_pattern;  // NULL or len 0: tready always high
    uint64_t out_ready_len;
    uint64_t pattern_phase;  // cycles already run in this logical run (pattern position)
    uint64_t watchdog;  // 0: off
    uint64_t max_cycles;
    uint32_t mode;
    uint32_t reserved;
};

struct VsimRunResult {
    uint32_t status;
    uint32_t s_axis_tready;  // port values at the last sampled cycle, for stall messages
    uint32_t m_axis_tvalid;
    uint32_t offering;  // an input beat is on the bus, not yet accepted
    uint64_t cycles;  // clock cycles run by this call
    uint64_t in_accepted;
    uint64_t out_received;
    uint64_t idle_cycles;  // cycles since the last beat in or out
};

namespace {

constexpr uint32_t kInWords = (VSIM_IN_BITS + 31) / 32;
constexpr uint32_t kOutWords = (VSIM_OUT_BITS + 31) / 32;

// Verilator stores a port of <= 8, <= 16, <= 32, <= 64 bits in CData/SData/IData/QData and a
// wider one in VlWide<N> (N 32-bit words); these overloads let one shim serve every width.
inline void put(CData& p, const uint32_t* w) { p = static_cast<CData>(w[0]); }
inline void put(SData& p, const uint32_t* w) { p = static_cast<SData>(w[0]); }
inline void put(IData& p, const uint32_t* w) { p = w[0]; }
inline void put(QData& p, const uint32_t* w) {
    p = static_cast<QData>(w[0]) | (static_cast<QData>(w[1]) << 32);
}
template <std::size_t N>
inline void put(VlWide<N>& p, const uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) p.data()[i] = w[i];
}

inline void get(const CData& p, uint32_t* w) { w[0] = p; }
inline void get(const SData& p, uint32_t* w) { w[0] = p; }
inline void get(const IData& p, uint32_t* w) { w[0] = p; }
inline void get(const QData& p, uint32_t* w) {
    w[0] = static_cast<uint32_t>(p);
    w[1] = static_cast<uint32_t>(p >> 32);
}
template <std::size_t N>
inline void get(const VlWide<N>& p, uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) w[i] = p.data()[i];
}

template <typename T>
constexpr uint32_t port_words() {
    return static_cast<uint32_t>((sizeof(std::remove_reference_t<T>) + 3) / 4);
}
static_assert(port_words<decltype(std::declval<VSIM_TOP&>().s_axis_tdata)>() == kInWords,
              "s_axis_tdata storage does not match VSIM_IN_BITS");
static_assert(port_words<decltype(std::declval<VSIM_TOP&>().m_axis_tdata)>() == kOutWords,
              "m_axis_tdata storage does not match VSIM_OUT_BITS");
#if VSIM_PROBE_WORDS > 0
static_assert(port_words<decltype(std::declval<VSIM_TOP&>().dbg_probes)>() == VSIM_PROBE_WORDS,
              "dbg_probes storage does not match VSIM_PROBE_WORDS");
#endif

struct VsimFatal {
    std::string msg;
};

struct State {
    VerilatedContext* ctx = nullptr;
    VSIM_TOP* top = nullptr;
#if VM_TRACE
    VsimTrace* tfp = nullptr;
#endif
    uint64_t cycle = 0;
    bool offering = false;
    bool broken = false;
    std::string error;
    std::string warnings;
};

// vl_fatal/vl_warn have no context argument; the model runs on the calling thread, so the
// state being driven by this thread is the one to blame.
thread_local State* t_current = nullptr;

struct Current {
    explicit Current(State* s) {
        prev = t_current;
        t_current = s;
        if (s->ctx) Verilated::threadContextp(s->ctx);
    }
    ~Current() { t_current = prev; }
    State* prev;
};

std::string where(const char* filename, int linenum, const char* hier) {
    std::string s;
    if (filename && *filename) {
        s += filename;
        if (linenum > 0) s += ":" + std::to_string(linenum);
    }
    if (hier && *hier) s += (s.empty() ? "" : " ") + std::string("(") + hier + ")";
    return s;
}

size_t copy_out(const std::string& s, char* buf, size_t len) {
    if (buf && len) {
        const size_t n = s.size() < len - 1 ? s.size() : len - 1;
        std::memcpy(buf, s.data(), n);
        buf[n] = '\0';
    }
    return s.size();
}

// Pointers passed by value, not read through State: eval() is opaque to the optimiser, so
// fields behind a pointer would be reloaded after every call.
#if VM_TRACE
inline void half_cycle(VSIM_TOP* top, VerilatedContext* ctx, VsimTrace* tfp, uint8_t clk) {
    top->ap_clk = clk;
    top->eval();
    if (tfp) tfp->dump(ctx->time());
    ctx->timeInc(1);
}
#define VSIM_TFP(s) ((s)->tfp)
#else
inline void half_cycle(VSIM_TOP* top, VerilatedContext* ctx, void*, uint8_t clk) {
    top->ap_clk = clk;
    top->eval();
    ctx->timeInc(1);
}
#define VSIM_TFP(s) static_cast<void*>(nullptr)
#endif

}  // namespace

void vl_fatal(const char* filename, int linenum, const char* hier, const char* msg) {
    throw VsimFatal{std::string(msg ? msg : "fatal error") + " at " + where(filename, linenum, hier)};
}

void vl_warn(const char* filename, int linenum, const char* hier, const char* msg) {
    std::string line = std::string(msg ? msg : "warning");
    const std::string at = where(filename, linenum, hier);
    if (!at.empty()) line += ": " + at;
    if (t_current) {
        t_current->warnings += line + "\n";
    } else {
        std::fprintf(stderr, "%%Warning: %s\n", line.c_str());
    }
}

VSIM_EXPORT void vsim_info(VsimInfo* out) {
    std::memset(out, 0, sizeof(*out));
    out->abi_version = VSIM_ABI_VERSION;
    out->in_bits = VSIM_IN_BITS;
    out->out_bits = VSIM_OUT_BITS;
    out->probe_words = VSIM_PROBE_WORDS;
    out->trace = VM_TRACE ? 1 : 0;
#if VM_TRACE && VM_TRACE_FST
    out->trace_fst = 1;
#endif
}

VSIM_EXPORT const char* vsim_verilator_version() { return VERILATOR_VERSION; }

// Returns NULL on failure with the reason in err. The model is evaluated once with the clock
// low, which runs initial blocks ($readmemh): their warnings are left for vsim_warnings.
VSIM_EXPORT void* vsim_create(uint32_t seed, uint32_t x_random, const char* trace_path, char* err,
                              size_t err_len) noexcept {
    State* s = new State;
    Current cur{s};
    try {
        s->ctx = new VerilatedContext;
        Verilated::threadContextp(s->ctx);
        // Both must be set before the model exists: x-initial unique values are drawn in the
        // constructor, from the thread-local generator seeded by this context.
        s->ctx->randReset(x_random ? 2 : 0);
        s->ctx->randSeed(static_cast<int>(seed));
        if (trace_path) {
#if VM_TRACE
            s->ctx->traceEverOn(true);
#else
            copy_out("this library was built without tracing", err, err_len);
            delete s->ctx;
            delete s;
            return nullptr;
#endif
        }
        s->top = new VSIM_TOP{s->ctx, "top"};
#if VM_TRACE
        if (trace_path) {
            s->tfp = new VsimTrace;
            s->top->trace(s->tfp, 99);
            s->tfp->open(trace_path);
            if (!s->tfp->isOpen()) throw VsimFatal{std::string("cannot open trace file ") + trace_path};
        }
#endif
        s->top->ap_clk = 0;
        s->top->ap_rst_n = 0;
        s->top->s_axis_tvalid = 0;
        s->top->m_axis_tready = 0;
        const uint32_t zero[kInWords] = {};
        put(s->top->s_axis_tdata, zero);
        s->top->eval();
        return s;
    } catch (const VsimFatal& f) {
        copy_out(f.msg, err, err_len);
    } catch (const std::exception& e) {
        copy_out(std::string("C++ exception: ") + e.what(), err, err_len);
    } catch (...) {
        copy_out("unknown C++ exception while constructing the model", err, err_len);
    }
    // A model whose constructor failed half-way is not safe to delete; leak it.
    return nullptr;
}

VSIM_EXPORT void vsim_destroy(void* p) noexcept {
    State* s = static_cast<State*>(p);
    if (!s) return;
    Current cur{s};
    try {
#if VM_TRACE
        if (s->tfp) {
            s->tfp->close();
            delete s->tfp;
        }
#endif
        if (!s->broken) {
            s->top->final();
        }
        delete s->top;
        delete s->ctx;
    } catch (...) {
        // Destruction after a fatal error may throw again; the memory is lost, the process lives.
    }
    t_current = nullptr;
    delete s;
}

// Copies the accumulated runtime warnings (e.g. "$readmem file not found") and clears them;
// returns their full length so the caller can retry with a larger buffer.
VSIM_EXPORT size_t vsim_warnings(void* p, char* buf, size_t len, uint32_t clear) noexcept {
    State* s = static_cast<State*>(p);
    const size_t n = copy_out(s->warnings, buf, len);
    if (clear && buf && len > n) s->warnings.clear();
    return n;
}

VSIM_EXPORT size_t vsim_error(void* p, char* buf, size_t len) noexcept {
    return copy_out(static_cast<State*>(p)->error, buf, len);
}

VSIM_EXPORT uint64_t vsim_cycle(void* p) noexcept { return static_cast<State*>(p)->cycle; }

VSIM_EXPORT void vsim_probes(void* p, uint32_t* out) noexcept {
#if VSIM_PROBE_WORDS > 0
    get(static_cast<State*>(p)->top->dbg_probes, out);
#else
    (void)p;
    (void)out;
#endif
}

// Holds ap_rst_n low for `cycles` rising edges with both streams idle. ap_rst_n goes high
// again before the next edge, i.e. in the first cycle of the next run.
VSIM_EXPORT uint32_t vsim_reset(void* p, uint64_t cycles) noexcept {
    State* s = static_cast<State*>(p);
    if (s->broken) return VSIM_BROKEN;
    Current cur{s};
    try {
        VSIM_TOP* top = s->top;
        top->ap_rst_n = 0;
        top->s_axis_tvalid = 0;
        top->m_axis_tready = 0;
        s->offering = false;
        for (uint64_t i = 0; i < cycles; ++i) {
            half_cycle(top, s->ctx, VSIM_TFP(s), 0);
            half_cycle(top, s->ctx, VSIM_TFP(s), 1);
            ++s->cycle;
        }
        top->ap_rst_n = 1;
        return s->ctx->gotFinish() ? VSIM_FINISHED : VSIM_DONE;
    } catch (const VsimFatal& f) {
        s->error = f.msg;
    } catch (const std::exception& e) {
        s->error = std::string("C++ exception: ") + e.what();
    }
    s->broken = true;
    return VSIM_FATAL;
}

namespace {

struct LoopResult {
    uint32_t status;
    uint64_t k, in_idx, out_idx, last_fire;
    bool last_tready, last_tvalid;
};

// The clock loop, instantiated per (mode, in_valid pattern present, out_ready pattern
// present) so that the common no-stall case carries no pattern code at all. Stop conditions
// other than the cycle limit can only change when a beat moves, so they are checked then;
// per cycle there is a single compare against `limit` (the earlier of max_cycles and the
// watchdog deadline).
template <bool kUntilDone, bool kVPat, bool kRPat>
LoopResult run_loop(State* s, const VsimRunArgs* a) {
    // Locals, not fields behind `a`/`s`: eval() is opaque to the optimiser, which would
    // otherwise reload every one of them each cycle.
    VSIM_TOP* const top = s->top;
    VerilatedContext* const ctx = s->ctx;
#if VM_TRACE
    VsimTrace* const tfp = s->tfp;
#else
    void* const tfp = nullptr;
#endif
    const uint32_t* const in_words = a->in_words;
    const uint64_t in_beats = a->in_beats;
    uint32_t* const out_words = a->out_words;
    uint64_t* const in_cycles = a->in_cycles;
    uint64_t* const out_cycles = a->out_cycles;
    const uint64_t out_capacity = a->out_capacity;
    const uint64_t expected = a->expected_outputs;
    const uint64_t watchdog = kUntilDone ? a->watchdog : 0;
    const uint64_t max_cycles = a->max_cycles;
    const uint8_t* const vpat = a->in_valid_pattern;
    const uint8_t* const rpat = a->out_ready_pattern;
    const uint64_t vlen = kVPat ? a->in_valid_len : 1;
    const uint64_t rlen = kRPat ? a->out_ready_len : 1;
    uint64_t vp = kVPat ? a->pattern_phase % vlen : 0;
    uint64_t rp = kRPat ? a->pattern_phase % rlen : 0;
    uint64_t cycle = s->cycle;
    bool offering = s->offering;

    LoopResult r{VSIM_DONE, 0, 0, 0, 0, false, false};
    auto deadline = [&](uint64_t from) {
        return (watchdog && max_cycles - from > watchdog) ? from + watchdog : max_cycles;
    };
    uint64_t limit = deadline(0);
    if (kUntilDone && in_beats == 0 && expected == 0) return r;
    if (!kUntilDone && out_capacity == 0) {
        r.status = VSIM_OUT_FULL;
        return r;
    }
    uint64_t k = 0, in_idx = 0, out_idx = 0, last_fire = 0;
    bool last_tready = false, last_tvalid = false;
    try {
        for (;;) {
            if (VL_UNLIKELY(k >= limit)) {
                r.status = !kUntilDone ? VSIM_DONE
                           : (watchdog && k - last_fire >= watchdog) ? VSIM_STALLED
                                                                     : VSIM_MAX_CYCLES;
                break;
            }
            if (!offering && in_idx < in_beats && (!kVPat || vpat[vp])) {
                put(top->s_axis_tdata, in_words + in_idx * kInWords);
                offering = true;
            }
            const bool ready = !kRPat || rpat[rp];
            top->s_axis_tvalid = offering;
            top->m_axis_tready = ready;
            half_cycle(top, ctx, tfp, 0);
            last_tready = top->s_axis_tready;
            last_tvalid = top->m_axis_tvalid;
            const bool in_fire = offering && last_tready;
            const bool out_fire = ready && last_tvalid;
            if (out_fire) {
                get(top->m_axis_tdata, out_words + out_idx * kOutWords);
                out_cycles[out_idx] = cycle;
                ++out_idx;
            }
            if (in_fire) {
                in_cycles[in_idx] = cycle;
                ++in_idx;
                offering = false;
            }
            half_cycle(top, ctx, tfp, 1);
            ++cycle;
            ++k;
            if (kVPat && ++vp == vlen) vp = 0;
            if (kRPat && ++rp == rlen) rp = 0;
            if (VL_UNLIKELY(ctx->gotFinish())) {
                r.status = VSIM_FINISHED;
                break;
            }
            if (in_fire || out_fire) {
                last_fire = k;
                if (kUntilDone) {
                    limit = deadline(k);
                    if (out_idx > expected) {
                        r.status = VSIM_EXTRA_OUTPUT;
                        break;
                    }
                    if (in_idx == in_beats && out_idx == expected) break;
                } else if (out_idx == out_capacity) {
                    r.status = VSIM_OUT_FULL;
                    break;
                }
            }
        }
    } catch (const VsimFatal& f) {
        s->error = f.msg;
        s->broken = true;
        r.status = VSIM_FATAL;
    } catch (const std::exception& e) {
        s->error = std::string("C++ exception: ") + e.what();
        s->broken = true;
        r.status = VSIM_FATAL;
    }
    s->cycle = cycle;
    s->offering = offering;
    r.k = k;
    r.in_idx = in_idx;
    r.out_idx = out_idx;
    r.last_fire = last_fire;
    r.last_tready = last_tready;
    r.last_tvalid = last_tvalid;
    return r;
}

template <bool kUntilDone>
LoopResult run_mode(State* s, const VsimRunArgs* a) {
    const bool v = a->in_valid_pattern && a->in_valid_len;
    const bool rr = a->out_ready_pattern && a->out_ready_len;
    if (v && rr) return run_loop<kUntilDone, true, true>(s, a);
    if (v) return run_loop<kUntilDone, true, false>(s, a);
    if (rr) return run_loop<kUntilDone, false, true>(s, a);
    return run_loop<kUntilDone, false, false>(s, a);
}

}  // namespace

// The stream driver. Per cycle: drive tvalid/tdata/tready with the clock low, evaluate so
// combinational tready/tvalid settle, sample both handshakes, then raise the clock. A beat
// once offered stays on the bus until accepted (AXI); the in_valid pattern only decides
// in which cycles a new beat may be offered, the out_ready pattern is tready itself.
VSIM_EXPORT void vsim_run(void* p, const VsimRunArgs* a, VsimRunResult* r) noexcept {
    State* s = static_cast<State*>(p);
    std::memset(r, 0, sizeof(*r));
    if (s->broken) {
        r->status = VSIM_BROKEN;
        return;
    }
    Current cur{s};
    const LoopResult lr = a->mode == VSIM_UNTIL_DONE ? run_mode<true>(s, a) : run_mode<false>(s, a);
    r->status = lr.status;
    r->s_axis_tready = lr.last_tready;
    r->m_axis_tvalid = lr.last_tvalid;
    r->offering = s->offering;
    r->cycles = lr.k;
    r->in_accepted = lr.in_idx;
    r->out_received = lr.out_idx;
    r->idle_cycles = lr.k - lr.last_fire;
}
