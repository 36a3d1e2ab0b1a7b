// Input -> FIFO (depth 4) -> output register, with dbg_probes = {out_beats, fifo_mid
// occupancy, in_beats}. STALL_AFTER != 0 injects a bug: the output stage stops popping
// the FIFO after STALL_AFTER beats, so the pipeline deadlocks behind `fifo_mid`.
// Output beat = input beat ^ 8'h5a.
module probed_pipeline #(
    parameter int STALL_AFTER = 0
) (
    input  logic        ap_clk,
    input  logic        ap_rst_n,
    input  logic [7:0]  s_axis_tdata,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    output logic [7:0]  m_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    output logic [95:0] dbg_probes
);
    logic [7:0]  mem[4];
    logic [1:0]  rd, wr;
    logic [2:0]  count;
    logic [31:0] in_beats, out_beats, popped;

    wire push     = s_axis_tvalid && s_axis_tready;
    wire broken   = STALL_AFTER != 0 && popped >= STALL_AFTER;
    wire b_ready  = (!m_axis_tvalid || m_axis_tready) && !broken;
    wire pop      = count != 3'd0 && b_ready;

    assign s_axis_tready = count != 3'd4;
    assign dbg_probes    = {out_beats, 29'd0, count, in_beats};

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            rd            <= '0;
            wr            <= '0;
            count         <= '0;
            in_beats      <= '0;
            out_beats     <= '0;
            popped        <= '0;
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= '0;
        end else begin
            if (push) begin
                mem[wr]  <= s_axis_tdata;
                wr       <= wr + 1'b1;
                in_beats <= in_beats + 1;
            end
            if (m_axis_tvalid && m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
                out_beats     <= out_beats + 1;
            end
            if (pop) begin
                rd            <= rd + 1'b1;
                popped        <= popped + 1;
                m_axis_tdata  <= mem[rd] ^ 8'h5a;
                m_axis_tvalid <= 1'b1;
            end
            if (push && !pop) count <= count + 1'b1;
            else if (pop && !push) count <= count - 1'b1;
        end
    end
endmodule
