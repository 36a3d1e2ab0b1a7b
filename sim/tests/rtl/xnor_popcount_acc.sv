// Benchmark design: a binary matrix-vector unit in miniature. Each input beat carries SIMD
// bipolar activations; PE rows of weights (from WEIGHT_FILE, word sf = PE*SIMD bits, row p
// at [p*SIMD +: SIMD]) are XNOR-popcounted against it and accumulated over FOLD beats; then
// one output beat carries the PE dot products (32-bit two's complement, row p at [p*32 +: 32]).
module xnor_popcount_acc #(
    parameter int SIMD = 256,
    parameter int PE = 4,
    parameter int FOLD = 16,
    parameter WEIGHT_FILE = "weights.hex"
) (
    input  logic              ap_clk,
    input  logic              ap_rst_n,
    input  logic [SIMD-1:0]   s_axis_tdata,
    input  logic              s_axis_tvalid,
    output logic              s_axis_tready,
    output logic [PE*32-1:0]  m_axis_tdata,
    output logic              m_axis_tvalid,
    input  logic              m_axis_tready
);
    localparam int SW = FOLD > 1 ? $clog2(FOLD) : 1;

    logic [PE*SIMD-1:0] wmem[FOLD];
    logic [SW-1:0]      sf;
    logic [31:0]        acc[PE];
    logic [31:0]        sum[PE];

    initial $readmemh(WEIGHT_FILE, wmem);

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    always_comb begin
        for (int p = 0; p < PE; p++) begin
            sum[p] = (sf == '0 ? 32'd0 : acc[p])
                   + 32'($countones(~(s_axis_tdata ^ wmem[sf][p*SIMD +: SIMD]))) * 2 - 32'(SIMD);
        end
    end

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sf            <= '0;
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= '0;
            for (int p = 0; p < PE; p++) acc[p] <= '0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                for (int p = 0; p < PE; p++) acc[p] <= sum[p];
                if (sf == SW'(FOLD - 1)) begin
                    sf <= '0;
                    for (int p = 0; p < PE; p++) m_axis_tdata[p*32 +: 32] <= sum[p];
                    m_axis_tvalid <= 1'b1;
                end else begin
                    sf <= sf + 1'b1;
                end
            end
        end
    end
endmodule
