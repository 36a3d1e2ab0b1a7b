// `junk` has no reset, so its start value is whatever the x-initial mode gives it:
// 0 with `fast`, a seed-dependent value with `unique` + randReset(2). Each input
// beat outputs the current `junk`; an input of all ones overwrites it.
module xinit (
    input  logic        ap_clk,
    input  logic        ap_rst_n,
    input  logic [31:0] s_axis_tdata,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready
);
    logic [31:0] junk;

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    always_ff @(posedge ap_clk) begin
        if (s_axis_tvalid && s_axis_tready && s_axis_tdata == 32'hffff_ffff) junk <= s_axis_tdata;
    end

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= '0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                m_axis_tdata  <= junk;
                m_axis_tvalid <= 1'b1;
            end
        end
    end
endmodule
