// A broken design for the watchdog: it accepts ACCEPT_LIMIT input beats, then holds
// s_axis_tready low forever, and it never produces an output beat.
module deadlock #(
    parameter int ACCEPT_LIMIT = 3
) (
    input  logic        ap_clk,
    input  logic        ap_rst_n,
    input  logic [15:0] s_axis_tdata,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    output logic [15:0] m_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready
);
    logic [31:0] accepted;

    assign s_axis_tready = accepted < ACCEPT_LIMIT;
    assign m_axis_tvalid = 1'b0;
    assign m_axis_tdata  = '0;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) accepted <= '0;
        else if (s_axis_tvalid && s_axis_tready) accepted <= accepted + 1;
    end

    wire unused = &{1'b0, s_axis_tdata, m_axis_tready};
endmodule
