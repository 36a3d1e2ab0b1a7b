// Not a valid top: it lacks m_axis_tready, so the bridge must refuse it by name.
module bad_ports (
    input  logic       ap_clk,
    input  logic       ap_rst_n,
    input  logic [7:0] s_axis_tdata,
    input  logic       s_axis_tvalid,
    output logic       s_axis_tready,
    output logic [7:0] m_axis_tdata,
    output logic       m_axis_tvalid
);
    assign s_axis_tready = 1'b1;
    always_ff @(posedge ap_clk) begin
        m_axis_tvalid <= ap_rst_n && s_axis_tvalid;
        m_axis_tdata  <= s_axis_tdata;
    end
endmodule
