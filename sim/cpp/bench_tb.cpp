// Plain C++ Verilator testbench: the reference the Rust-driven simulation is measured
// against (`cargo xtask bench-sim`). Its main loop is the conventional one, written without
// the shim: drive the stream ports, eval with the clock low, sample handshakes, eval with
// the clock high. It links the same V<top>__ALL.a and runtime objects as the Rust library.
//
// usage: vsim_bench_tb STIMULUS.bin BEATS_PER_BLOCK OUTPUTS_PER_BLOCK BLOCKS RESET_CYCLES
// STIMULUS.bin holds BEATS_PER_BLOCK beats of little-endian 32-bit words; every block sends
// them all and waits for OUTPUTS_PER_BLOCK output beats, outputs always ready. Prints
// `cycles=<n> seconds=<wall s> cpu_seconds=<this thread's CPU s> checksum=<fnv1a-64 of the
// output words> outputs=<n>`.

#include "vsim_config.h"

#include VSIM_TOP_HEADER
#include "verilated.h"

#include <chrono>
#include <cinttypes>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr uint32_t kInWords = (VSIM_IN_BITS + 31) / 32;
constexpr uint32_t kOutWords = (VSIM_OUT_BITS + 31) / 32;

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

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "vsim_bench_tb: %s\n", what);
    std::exit(2);
}

}  // namespace

// The runtime objects are compiled with VL_USER_FATAL/VL_USER_WARN (for the shim).
void vl_fatal(const char* filename, int linenum, const char*, const char* msg) {
    std::fprintf(stderr, "vsim_bench_tb: Verilator fatal: %s at %s:%d\n", msg, filename ? filename : "?", linenum);
    std::exit(2);
}
void vl_warn(const char* filename, int linenum, const char*, const char* msg) {
    std::fprintf(stderr, "vsim_bench_tb: Verilator warning: %s at %s:%d\n", msg, filename ? filename : "?", linenum);
    std::exit(2);
}

int main(int argc, char** argv) {
    if (argc != 6) die("usage: vsim_bench_tb STIMULUS.bin BEATS_PER_BLOCK OUTPUTS_PER_BLOCK BLOCKS RESET_CYCLES");
    const uint64_t beats = std::strtoull(argv[2], nullptr, 10);
    const uint64_t outputs = std::strtoull(argv[3], nullptr, 10);
    const uint64_t blocks = std::strtoull(argv[4], nullptr, 10);
    const uint64_t reset_cycles = std::strtoull(argv[5], nullptr, 10);
    std::vector<uint32_t> stim(beats * kInWords);
    FILE* f = std::fopen(argv[1], "rb");
    if (!f) die("cannot open the stimulus file");
    if (std::fread(stim.data(), 4, stim.size(), f) != stim.size()) die("stimulus file too short");
    std::fclose(f);

    VerilatedContext* ctx = new VerilatedContext;
    VSIM_TOP* top = new VSIM_TOP{ctx, "top"};
    top->ap_clk = 0;
    top->ap_rst_n = 0;
    top->s_axis_tvalid = 0;
    top->m_axis_tready = 0;
    top->eval();
    for (uint64_t i = 0; i < reset_cycles; ++i) {
        top->ap_clk = 0;
        top->eval();
        ctx->timeInc(1);
        top->ap_clk = 1;
        top->eval();
        ctx->timeInc(1);
    }
    top->ap_rst_n = 1;

    uint32_t out[kOutWords];
    uint64_t checksum = 0xcbf29ce484222325ULL;
    uint64_t cycles = 0, received = 0;
    timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t b = 0; b < blocks; ++b) {
        uint64_t in_idx = 0, out_idx = 0, idle = 0;
        bool offering = false;
        while ((in_idx < beats || out_idx < outputs) && !ctx->gotFinish()) {
            if (!offering && in_idx < beats) {
                put(top->s_axis_tdata, stim.data() + in_idx * kInWords);
                offering = true;
            }
            top->s_axis_tvalid = offering;
            top->m_axis_tready = 1;
            top->ap_clk = 0;
            top->eval();
            ctx->timeInc(1);
            const bool in_fire = offering && top->s_axis_tready;
            const bool out_fire = top->m_axis_tvalid;
            if (out_fire) {
                get(top->m_axis_tdata, out);
                for (uint32_t w = 0; w < kOutWords; ++w) {
                    checksum ^= out[w];
                    checksum *= 0x100000001b3ULL;
                }
                ++out_idx;
            }
            if (in_fire) {
                ++in_idx;
                offering = false;
            }
            top->ap_clk = 1;
            top->eval();
            ctx->timeInc(1);
            ++cycles;
            idle = (in_fire || out_fire) ? 0 : idle + 1;
            if (idle > 1000000) die("no progress for 1000000 cycles (wrong OUTPUTS_PER_BLOCK?)");
        }
        if (out_idx != outputs) die("the design finished early or produced too many outputs");
        received += out_idx;
    }
    const auto t1 = std::chrono::steady_clock::now();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    const double cpu = static_cast<double>(c1.tv_sec - c0.tv_sec) + 1e-9 * static_cast<double>(c1.tv_nsec - c0.tv_nsec);
    std::printf("cycles=%" PRIu64 " seconds=%.6f cpu_seconds=%.6f checksum=%016" PRIx64 " outputs=%" PRIu64 "\n", cycles,
                seconds, cpu, checksum, received);
    top->final();
    delete top;
    delete ctx;
    return 0;
}
