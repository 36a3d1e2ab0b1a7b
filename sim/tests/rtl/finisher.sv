// Ends the simulation from inside: an input beat 8'hf1 calls $finish, 8'h57 calls $stop
// (a Verilator runtime error). Any other beat is echoed.
module finisher (
    input  logic       ap_clk,
    input  logic       ap_rst_n,
    input  logic [7:0] s_axis_tdata,
    input  logic       s_axis_tvalid,
    output logic       s_axis_tready,
    output logic [7:0] m_axis_tdata,
    output logic       m_axis_tvalid,
    input  logic       m_axis_tready
);
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= '0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                if (s_axis_tdata == 8'hf1) $finish;
                if (s_axis_tdata == 8'h57) $stop;
                m_axis_tdata  <= s_axis_tdata;
                m_axis_tvalid <= 1'b1;
            end
        end
    end
endmodule
