//! Mutation score of the RTL checks: single, plausible RTL bugs applied one at a time to a copy of
//! `rtl/` (never to `rtl/` itself), each checked by the property suite's module configurations that
//! use the mutated file and, independently, by an end-to-end check of a small generated network.
//!
//! A mutant is a text patch: `find` must occur exactly once in its file, or the run fails loudly
//! (the RTL changed and the mutant list must follow).

use crate::rtlcheck::config::{self, Config, Dut};
use crate::rtlcheck::sources::RtlSources;
use crate::rtlcheck::suite::{self, ConfigReport, Options};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Debug, Serialize)]
pub struct Mutant {
    pub id: &'static str,
    /// File in `rtl/`.
    pub file: &'static str,
    pub find: &'static str,
    pub replace: &'static str,
    /// The bug, in words.
    pub what: &'static str,
    /// Configurations (name substrings) that exercise the mutated code best: tried first, so a
    /// detection needs few builds. Every configuration using the file is tried anyway.
    pub try_first: &'static [&'static str],
}

const fn m(
    id: &'static str,
    file: &'static str,
    find: &'static str,
    replace: &'static str,
    what: &'static str,
    try_first: &'static [&'static str],
) -> Mutant {
    Mutant { id, file, find, replace, what, try_first }
}

/// The mutants, grouped by file.
pub fn mutants() -> Vec<Mutant> {
    vec![
        // multithreshold.sv: the compare of MVTU outputs and of the input quantizer.
        m(
            "mt_strict_compare",
            "multithreshold.sv",
            ">= $signed(t[(l*NT + i)*VBITS +: VBITS]);",
            "> $signed(t[(l*NT + i)*VBITS +: VBITS]);",
            "threshold compare strict (acc > T) instead of acc >= T",
            &["mvtu_w1a1_pe1", "iq_"],
        ),
        m(
            "mt_threshold_off_by_one",
            "multithreshold.sv",
            "ge[i] = $signed(val[l*VBITS +: VBITS]) >=",
            "ge[i] = $signed(val[l*VBITS +: VBITS]) + 1 >=",
            "off-by-one threshold compare (acc + 1 >= T)",
            &["mvtu_w1a1_pe1", "iq_"],
        ),
        m(
            "mt_unsigned_compare",
            "multithreshold.sv",
            "ge[i] = $signed(val[l*VBITS +: VBITS]) >= $signed(t[(l*NT + i)*VBITS +: VBITS]);",
            "ge[i] = val[l*VBITS +: VBITS] >= t[(l*NT + i)*VBITS +: VBITS];",
            "threshold compare unsigned: negative accumulators/thresholds compare wrongly",
            &["mvtu_w2a2", "mvtu_w1a1_pe1"],
        ),
        // mvtu.sv
        m(
            "mvtu_sf_wrap",
            "mvtu.sv",
            "sf_q    <= (sf_q == LastSf) ? '0 : sf_q + 1'b1;",
            "sf_q    <= (sf_q >= LastSf - 1'b1) ? '0 : sf_q + 1'b1;",
            "input fold (SF) counter wraps one step early",
            &["mvtu_w4a4", "mvtu_w1a2"],
        ),
        m(
            "mvtu_nf_wrap",
            "mvtu.sv",
            "nf_q <= (nf_q == LastNf) ? '0 : nf_q + 1'b1;",
            "nf_q <= (nf_q == LastNf - 1'b1) ? '0 : nf_q + 1'b1;",
            "output fold (NF) counter wraps one step early",
            &["mvtu_w1a4_pe3", "mvtu_w4a2"],
        ),
        m(
            "mvtu_acc_not_cleared",
            "mvtu.sv",
            "assign acc_next = (d_first ? '0 : acc_q) + dot[l*ACC_BITS +: ACC_BITS];",
            "assign acc_next = acc_q + dot[l*ACC_BITS +: ACC_BITS];",
            "accumulator not cleared at the start of a fold (carries over the previous sum)",
            &["mvtu_w4a4", "mvtu_w1a2"],
        ),
        m(
            "mvtu_drop_simd_lane_xnor",
            "dot_array.sv",
            "$countones(~(w_row[Lo +: N] ^ a_vec[Lo +: N]))",
            "$countones(~(w_row[Lo +: N] ^ a_vec[Lo +: N]) >> 1)",
            "binary XNOR-popcount drops the first SIMD lane of every 64-lane group",
            &["mvtu_w1a1"],
        ),
        m(
            "mvtu_drop_simd_lane_mac",
            "dot_array.sv",
            "for (int s = 0; s < N; s++) begin\n              sum = sum + DOT_BITS'($signed(",
            "for (int s = 1; s < N; s++) begin\n              sum = sum + DOT_BITS'($signed(",
            "multi-bit dot product drops the first lane of every 4-lane group",
            &["mvtu_w4a4", "mvtu_w2a2"],
        ),
        m(
            "mvtu_pe_weight_order",
            "dot_array.sv",
            "assign w_row = w[r*SIMD*WBITS +: SIMD*WBITS];",
            "assign w_row = w[(PE-1-r)*SIMD*WBITS +: SIMD*WBITS];",
            "weight word's PE rows in reverse order",
            &["mvtu_w4a4", "mvtu_w1a1_pe16"],
        ),
        m(
            "mvtu_w2_bit_swap",
            "dot_array.sv",
            "(wb[0] ? av : '0) - (wb[1] ? (av <<< 1) : '0)",
            "(wb[1] ? av : '0) - (wb[0] ? (av <<< 1) : '0)",
            "2-bit weight: bit order swapped",
            &["mvtu_w2a4", "mvtu_w2a8"],
        ),
        m(
            "mvtu_a2_missing_shift",
            "dot_array.sv",
            "(ab[0] ? wv : '0) + (ab[1] ? (wv <<< 1) : '0)",
            "(ab[0] ? wv : '0) + (ab[1] ? wv : '0)",
            "2-bit activation: high partial product not shifted",
            &["mvtu_w4a2", "mvtu_w8a2"],
        ),
        m(
            "mvtu_bipolar_weight_inverted",
            "dot_array.sv",
            "if (w_row[Lo + s]) sum = sum +",
            "if (!w_row[Lo + s]) sum = sum +",
            "bipolar weight encoding inverted (1 taken as -1) in the masked sums",
            &["mvtu_w1a4", "mvtu_w1a2"],
        ),
        m(
            "mvtu_activation_signed",
            "dot_array.sv",
            "ProdBits'($signed(wb)) * ProdBits'($signed({1'b0, ab}));",
            "ProdBits'($signed(wb)) * ProdBits'($signed(ab));",
            "unsigned activation sign-extended in the multiplier",
            &["mvtu_w4a4", "mvtu_w8a8"],
        ),
        m(
            "mvtu_tready_every_fold",
            "mvtu.sv",
            "assign s_axis_tready = advance && first_fold;",
            "assign s_axis_tready = advance;",
            "input accepted during replay folds (beats consumed but never used)",
            &["mvtu_w1a4_pe3", "mvtu_w4a4"],
        ),
        m(
            "mvtu_ibuf_written_every_fold",
            "mvtu.sv",
            "if (issue && first_fold) ibuf[sf_q] <= s_axis_tdata;",
            "if (issue) ibuf[sf_q] <= s_axis_tdata;",
            "input buffer overwritten during replay folds by whatever is on s_axis_tdata",
            // With NF = 2 the last fold reads each word before it is overwritten: needs NF >= 3.
            &["mvtu_w1a1_pe1", "mvtu_w4a1_pe1", "mvtu_w2a2_pe1"],
        ),
        m(
            "mvtu_bias_subtracted",
            "mvtu.sv",
            "acc_s2_q[L*ACC_BITS +: ACC_BITS] + t_s2_q[p*ACC_BITS +: ACC_BITS];",
            "acc_s2_q[L*ACC_BITS +: ACC_BITS] - t_s2_q[p*ACC_BITS +: ACC_BITS];",
            "logit layer subtracts the bias",
            &["mvtu_w2a4", "mvtu_w4a8"],
        ),
        m(
            "mvtu_s1_valid_not_reset",
            "mvtu.sv",
            "    if (!ap_rst_n) begin\n      s1_valid_q <= 1'b0;\n    end else if (advance) begin\n      s1_valid_q <= issue;",
            "    if (advance) begin\n      s1_valid_q <= issue;",
            "missing reset of the stage-1 valid flag",
            &["mvtu_w1a1_pe1", "mvtu_w4a4"],
        ),
        // axis_skid.sv: the output register of nearly every module.
        m(
            "skid_ignores_tready",
            "axis_skid.sv",
            "assign main_free = !main_valid_q || m_axis_tready;",
            "assign main_free = 1'b1;",
            "output handshake ignores m_axis_tready (beats overwritten under backpressure)",
            &["fifo", "iq_"],
        ),
        m(
            "skid_tready_from_downstream",
            "axis_skid.sv",
            "assign s_axis_tready = !skid_valid_q;",
            "assign s_axis_tready = m_axis_tready;",
            "skid buffer's s_axis_tready passed through from downstream (a held beat is lost)",
            &["iq_", "pool"],
        ),
        m(
            "skid_valid_not_reset",
            "axis_skid.sv",
            "      main_valid_q <= 1'b0;\n      skid_valid_q <= 1'b0;\n    end else if (main_free) begin",
            "      skid_valid_q <= 1'b0;\n    end else if (main_free) begin",
            "missing reset of the output valid flag (a spurious beat after reset)",
            &["iq_", "pool"],
        ),
        // stream_fifo.sv
        m(
            "fifo_full_off_by_one",
            "stream_fifo.sv",
            "assign s_axis_tready = count_q != CountBits'(DEPTH);",
            "assign s_axis_tready = count_q <= CountBits'(DEPTH);",
            "FIFO full flag off by one (accepts a beat when full, overwriting the oldest)",
            &["fifo_w8_d2", "fifo_w5_d3"],
        ),
        m(
            "fifo_ptr_no_wrap",
            "stream_fifo.sv",
            "if (push) wr_ptr_q <= (wr_ptr_q == LastAddr) ? '0 : wr_ptr_q + 1'b1;",
            "if (push) wr_ptr_q <= wr_ptr_q + 1'b1;",
            "write pointer wraps only at a power of two",
            &["fifo_w5_d3", "fifo_w7_d40"],
        ),
        m(
            "fifo_count_not_reset",
            "stream_fifo.sv",
            "      rd_ptr_q <= '0;\n      count_q  <= '0;\n",
            "      rd_ptr_q <= '0;\n",
            "missing reset of the FIFO occupancy counter",
            &["fifo_w8_d2", "fifo_w16_d33"],
        ),
        m(
            "fifo_read_ignores_tready",
            "stream_fifo.sv",
            "assign rd_en = (mem_count_q != '0) && (!out_valid_q || m_axis_tready);",
            "assign rd_en = (mem_count_q != '0);",
            "RAM FIFO's output register reloads while the output is stalled",
            &["fifo_w16_d33", "fifo_w7_d40"],
        ),
        // sliding_window.sv
        m(
            "swg_read_before_write",
            "sliding_window.sv",
            "((ky_q == rel_q) && (col < wcol_q));",
            "((ky_q == rel_q) && (col <= wcol_q));",
            "reader may read the word being written this cycle (off by one)",
            &["swg_k1", "swg_k3_7x5"],
        ),
        m(
            "swg_slot_wrap",
            "sliding_window.sv",
            "assign slot     = (slot_sum >= (KBits + 1)'(Rows))",
            "assign slot     = (slot_sum > (KBits + 1)'(Rows))",
            "line-buffer slot wraps one row late",
            &["swg_k3_8x8", "swg_k3_7x5"],
        ),
        m(
            "swg_writer_overrun",
            "sliding_window.sv",
            "assign s_axis_tready = rel_q <= KBits'(K);",
            "assign s_axis_tready = rel_q <= KBits'(K + 1);",
            "writer may run K+2 rows ahead (overwrites rows still needed)",
            &["swg_k3_8x8", "swg_k5"],
        ),
        m(
            "swg_rel_not_reset",
            "sliding_window.sv",
            "    if (!ap_rst_n) begin\n      rel_q <= '0;\n    end else begin\n",
            "    begin\n",
            "missing reset of the rows-ahead counter",
            &["swg_k3_8x8", "swg_k1"],
        ),
        m(
            "swg_image_skip_short",
            "sliding_window.sv",
            "- (rd_img_done ? KBits'(K) : KBits'(rd_row_done));",
            "- (rd_img_done ? KBits'(K - 1) : KBits'(rd_row_done));",
            "after an image the reader releases one row too few (back-to-back images go wrong)",
            &["swg_k3_8x8", "swg_k3_7x5"],
        ),
        // maxpool.sv
        m(
            "pool_min_not_max",
            "maxpool.sv",
            "assign maxed[p*EBITS +: EBITS] = (a > b) ? a : b;",
            "assign maxed[p*EBITS +: EBITS] = (a < b) ? a : b;",
            "multi-bit pool takes the minimum",
            &["pool_5x7", "pool_7x5"],
        ),
        m(
            "pool_row_restart",
            "maxpool.sv",
            "rbuf[idx] <= (!x_q[0] && !y_q[0]) ? s_axis_tdata : maxed;",
            "rbuf[idx] <= (!x_q[0]) ? s_axis_tdata : maxed;",
            "running maximum restarted in every row (the top row of each 2x2 block is lost)",
            &["pool_4x4", "pool_5x7"],
        ),
        m(
            "pool_base_step",
            "maxpool.sv",
            "end else if (x_q[0] && (x_q != LastX)) begin",
            "end else if (!x_q[0] && (x_q != LastX)) begin",
            "row-buffer column advances after even pixels instead of odd ones",
            &["pool_4x4", "pool_5x7"],
        ),
        // sliding_window_par.sv
        m(
            "swgp_emit_incomplete",
            "sliding_window_par.sv",
            "assign emit_next = (y_q >= FirstOy) && (b_q >= LeadB);",
            "assign emit_next = (y_q >= FirstOy);",
            "emits windows at the start of a row before their K columns have arrived",
            &["swgp_k3_6x8", "swgp_k5_7x6"],
        ),
        m(
            "swgp_row_no_wrap",
            "sliding_window_par.sv",
            "if (b_q == LastB) y_q <= (y_q == LastY) ? '0 : y_q + 1'b1;",
            "if (b_q == LastB) y_q <= y_q + 1'b1;",
            "row counter does not wrap at the image's last row (the next image starts mid-map)",
            &["swgp_k3_5x5", "swgp_k5_7x6"],
        ),
        m(
            "swgp_line_rows_swapped",
            "sliding_window_par.sv",
            "line[s1_b_q] <= LineBits'({older, s1_data_q});",
            "line[s1_b_q] <= LineBits'({s1_data_q, older});",
            "delay line shifts the wrong way (older rows in the newest row's place)",
            &["swgp_k3_6x8", "swgp_k5_6x8"],
        ),
        m(
            "swgp_chain_step_one",
            "sliding_window_par.sv",
            "if (fire) chain_q[i] <= cols[i + PIXELS];",
            "if (fire) chain_q[i] <= cols[i + 1];",
            "column chain advances one column per beat instead of PIXELS",
            &["swgp_k3_6x8", "swgp_k5_6x8"],
        ),
        m(
            "swgp_window_tap",
            "sliding_window_par.sv",
            "= cols[j + kx][ky*PixBits +: PixBits];",
            "= cols[kx][ky*PixBits +: PixBits];",
            "every window of a beat gets the first window's columns",
            &["swgp_k3_6x8", "swgp_k1_3x4"],
        ),
        m(
            "swgp_ignores_output_stall",
            "sliding_window_par.sv",
            "assign advance       = !s1_valid_q || !s1_emit_q || skid_ready;",
            "assign advance       = 1'b1;",
            "input keeps moving while the output is stalled (windows lost)",
            &["swgp_k3_5x5", "swgp_k3_6x8"],
        ),
        // maxpool_par.sv
        m(
            "poolp_min_not_max",
            "maxpool_par.sv",
            "max2 = (a > b) ? a : b;",
            "max2 = (a < b) ? a : b;",
            "pixel-parallel pool takes the minimum",
            &["poolp_5x6", "poolp_4x4"],
        ),
        m(
            "poolp_stores_odd_rows",
            "maxpool_par.sv",
            "if (fire && in_pool && !y_q[0]) rbuf[b_q] <= pairs;",
            "if (fire && in_pool && y_q[0]) rbuf[b_q] <= pairs;",
            "row buffer written on odd rows instead of even ones",
            &["poolp_4x4", "poolp_6x8"],
        ),
        m(
            "poolp_right_pixel_ignored",
            "maxpool_par.sv",
            "max2(s_axis_tdata[L*EBITS +: EBITS], s_axis_tdata[(L + CHANNELS)*EBITS +: EBITS]);",
            "max2(s_axis_tdata[L*EBITS +: EBITS], s_axis_tdata[L*EBITS +: EBITS]);",
            "horizontal pair reduced to its left pixel",
            &["poolp_4x4", "poolp_5x6"],
        ),
        // (Not `in_pool = 1`: an odd map's last row has an even index, so it is never emitted,
        // and the row-buffer write it gates is overwritten by the next image's first row before
        // any read: an equivalent mutant, found by the mutation run.)
        m(
            "poolp_row_no_wrap",
            "maxpool_par.sv",
            "if (b_q == LastB) y_q <= (y_q == LastY) ? '0 : y_q + 1'b1;",
            "if (b_q == LastB) y_q <= y_q + 1'b1;",
            "row counter does not wrap after the last row (odd heights: the next image's rows swap parity)",
            &["poolp_5x6", "poolp_3x4"],
        ),
        m(
            "poolp_ignores_output_stall",
            "maxpool_par.sv",
            "assign s_axis_tready = !emit || skid_ready;",
            "assign s_axis_tready = 1'b1;",
            "odd-row beats accepted while the output is stalled (results lost)",
            &["poolp_4x4", "poolp_6x8"],
        ),
        // threshold_search.sv
        m(
            "ts_strict_compare",
            "threshold_search.sv",
            "decided[s][OBITS - 1 - s] = $signed(vl[s]) >= $signed(t);",
            "decided[s][OBITS - 1 - s] = $signed(vl[s]) > $signed(t);",
            "searched threshold compare strict (acc > T)",
            &["mvtu_w1a4_pe3_simd4_o4", "mvtu_w8a8_pe2_simd4_o8"],
        ),
        m(
            "ts_unsigned_compare",
            "threshold_search.sv",
            "decided[s][OBITS - 1 - s] = $signed(vl[s]) >= $signed(t);",
            "decided[s][OBITS - 1 - s] = vl[s] >= t;",
            "searched threshold compare unsigned",
            &["mvtu_w8a1_pe2_simd4_o8", "mvtu_w8a8_pe2_simd4_o8"],
        ),
        m(
            "ts_address_misses_last_bit",
            "threshold_search.sv",
            "assign addr = AddrBits'({nf_q[s - 1], decided[s - 1][OBITS-1 -: s]});",
            "assign addr = AddrBits'({nf_q[s - 1], bits_q[s - 1][OBITS-1 -: s]});",
            "next stage's threshold address misses the bit the previous stage just decided",
            &["mvtu_w1a4_pe3_simd4_o4", "mvtu_w4a4_pe2_simd4_o8"],
        ),
        m(
            "ts_value_not_pipelined",
            "threshold_search.sv",
            "v_q[s]  <= v_q[s - 1];",
            "v_q[s]  <= v_q[0];",
            "later stages compare a newer value than the one they search for",
            &["mvtu_w1a4_pe3_simd4_o4", "mvtu_w8a8_pe2_simd4_o8"],
        ),
        m(
            "ts_lane_file",
            "threshold_search.sv",
            "dec4(l % FILE_LANES)",
            "dec4(0)",
            "every lane reads lane 0's thresholds",
            &["mvtu_w1a4_pe3_simd4_o4", "mvtu_w1a2_mmv2_o4"],
        ),
        // dot_array.sv: the adder tree and several vectors per beat.
        m(
            "dot_tree_drops_last_input",
            "dot_array.sv",
            "for (int i = 0; i < NAdd; i++) sum = sum + node[s][4 * o + i];",
            "for (int i = 1; i < NAdd; i++) sum = sum + node[s][4 * o + i];",
            "adder-tree node drops its first input",
            &["mvtu_w4a2_pe1_simd36", "mvtu_w1a1_pe2_simd200"],
        ),
        m(
            "dot_all_vectors_first",
            "dot_array.sv",
            "assign a_vec = a[v*SIMD*ABITS +: SIMD*ABITS];",
            "assign a_vec = a[0 +: SIMD*ABITS];",
            "every vector of a beat is computed from the first vector's activations",
            &["mvtu_w1a1_mmv2", "mvtu_w2a2_mmv3"],
        ),
        m(
            "dot_masked_total_row",
            "dot_array.sv",
            "(row_dot[p] << 1) - row_dot[PE];",
            "(row_dot[p] << 1) - row_dot[0];",
            "masked dot product subtracts row 0's sum instead of the sum of all activations",
            &["mvtu_w1a2", "mvtu_w1a4"],
        ),
        m(
            "dot_tag_early",
            "dot_array.sv",
            "assign tag_out = tag_q[Latency - 1];",
            "assign tag_out = tag_q[0];",
            "fold tags leave the adder tree before its sums (deep trees misalign folds)",
            &["mvtu_w4a2_pe1_simd36", "mvtu_w1a1_pe2_simd200"],
        ),
        // mvtu.sv: several vectors per beat.
        m(
            "mvtu_mmv_threshold_vector",
            "mvtu.sv",
            ".v  (acc_s2_q[v*PE*ACC_BITS +: PE*ACC_BITS]),",
            ".v  (acc_s2_q[0 +: PE*ACC_BITS]),",
            "every vector of a beat is thresholded from the first vector's sums",
            &["mvtu_w1a1_mmv2", "mvtu_w2a2_mmv3"],
        ),
        m(
            "mvtu_mmv_bias_lane",
            "mvtu.sv",
            "acc_s2_q[L*ACC_BITS +: ACC_BITS] + t_s2_q[p*ACC_BITS +: ACC_BITS];",
            "acc_s2_q[p*ACC_BITS +: ACC_BITS] + t_s2_q[p*ACC_BITS +: ACC_BITS];",
            "logit layer: every vector of a beat gets the first vector's sums",
            &["mvtu_w4a4_mmv2_o0"],
        ),
        // input_quant.sv
        m(
            "iq_lane_channel",
            "input_quant.sv",
            "thr_mem[j % CHANNELS][t*9 +: 9]",
            "thr_mem[0][t*9 +: 9]",
            "every lane uses channel 0's thresholds",
            &["iq_lanes4_c2", "iq_lanes6_c3"],
        ),
        // stream_width_converter.sv
        m(
            "dwc_down_early_free",
            "stream_width_converter.sv",
            "assign cur_free      = !cur_valid_q || (pop && (i_q == LastI));",
            "assign cur_free      = !cur_valid_q || (pop && (i_q == LastI - 1'b1));",
            "down-converter frees its word one output beat early (drops elements)",
            &["dwc_4to1", "dwc_3to1"],
        ),
        m(
            "dwc_up_ignores_tready",
            "stream_width_converter.sv",
            "assign s_axis_tready = !(last && out_valid_q);",
            "assign s_axis_tready = 1'b1;",
            "up-converter accepts the last beat of a word while the previous word is stalled",
            &["dwc_1to4", "dwc_2to6"],
        ),
        // label_select.sv
        m(
            "label_tie_highest",
            "label_select.sv",
            "($signed(s_axis_tdata[p*ACC_BITS +: ACC_BITS]) > best)",
            "($signed(s_axis_tdata[p*ACC_BITS +: ACC_BITS]) >= best)",
            "ties go to the highest class index instead of the lowest",
            &["label_n4", "label_n10"],
        ),
        m(
            "label_unsigned_compare",
            "label_select.sv",
            "($signed(s_axis_tdata[p*ACC_BITS +: ACC_BITS]) > best)",
            "(s_axis_tdata[p*ACC_BITS +: ACC_BITS] > best)",
            "logit compare unsigned (negative logits win)",
            &["label_n4", "label_n10"],
        ),
        m(
            "label_index_step",
            "label_select.sv",
            "base_q <= last ? '0 : base_q + 8'(PE);",
            "base_q <= last ? '0 : base_q + 8'(1);",
            "class index of a beat's lane 0 advances by 1 instead of PE (wrong label when PE > 1)",
            &["label_n10"],
        ),
    ]
}

/// Copies the `.sv` files of `rtl` into `dest` (replacing it) and applies `mutant`.
pub fn apply(mutant: &Mutant, rtl: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("cannot clear {}", dest.display()))?;
    }
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let mut found = false;
    for e in std::fs::read_dir(rtl).with_context(|| format!("cannot read {}", rtl.display()))? {
        let p = e?.path();
        if p.extension().is_none_or(|x| x != "sv") {
            continue;
        }
        let name = p.file_name().expect("a file").to_string_lossy().to_string();
        let mut text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        if name == mutant.file {
            found = true;
            text = patch(&text, mutant)?;
        }
        std::fs::write(dest.join(&name), text).with_context(|| format!("cannot write into {}", dest.display()))?;
    }
    if !found {
        bail!("mutant {}: no file {} in {}", mutant.id, mutant.file, rtl.display());
    }
    Ok(())
}

/// The mutated text: `find` must occur exactly once.
pub fn patch(text: &str, mutant: &Mutant) -> Result<String> {
    let n = text.matches(mutant.find).count();
    if n != 1 {
        bail!(
            "mutant {}: the pattern occurs {n} times in {} (must be exactly once; update the mutant list):\n{}",
            mutant.id,
            mutant.file,
            mutant.find
        );
    }
    Ok(text.replacen(mutant.find, mutant.replace, 1))
}

/// The module configurations whose build includes `file`, the mutant's preferred ones first.
pub fn module_configs(mutant: &Mutant, sources: &RtlSources) -> Result<Vec<Config>> {
    let module = mutant.file.trim_end_matches(".sv");
    let mut v = vec![];
    for c in config::configs() {
        if matches!(c.dut, Dut::Network(_)) {
            continue;
        }
        if sources.closure(c.module())?.contains(module) {
            v.push(c);
        }
    }
    let rank = |c: &Config| mutant.try_first.iter().position(|p| c.name.contains(p)).unwrap_or(usize::MAX);
    v.sort_by_key(rank);
    Ok(v)
}

/// The end-to-end network of the mutation run: the smallest stitched network.
pub const E2E_CONFIG: &str = "net_cnv_w1a1";

/// The end-to-end network for a mutant of `file`: the smallest one whose generated design uses
/// the file (the window- and pixel-parallel modules only appear behind several pixels per beat,
/// the threshold search only for 4- and 8-bit activations).
pub fn e2e_config(file: &str) -> &'static str {
    match file {
        "sliding_window_par.sv" | "maxpool_par.sv" => "net_cnv_w1a1_px2",
        "threshold_search.sv" => "net_par_w2a2_w4a4",
        _ => E2E_CONFIG,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Detection {
    pub config: String,
    pub report: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct MutantResult {
    pub id: String,
    pub file: String,
    pub what: String,
    /// First module configuration that failed (the property suite).
    pub property: Option<Detection>,
    pub property_configs_run: usize,
    /// The end-to-end network check.
    pub end_to_end: Option<Detection>,
    /// Harness problems (a mutant that does not build, ...): counted as not detected.
    pub errors: Vec<String>,
    pub seconds: f64,
}

impl MutantResult {
    pub fn detected(&self) -> bool {
        self.property.is_some() || self.end_to_end.is_some()
    }
}

#[derive(Clone, Debug)]
pub struct MutateOptions {
    pub rtl: PathBuf,
    pub work: PathBuf,
    pub cases: Option<u32>,
    pub seed: u64,
}

fn detection(r: &Result<ConfigReport>, errors: &mut Vec<String>) -> Option<Detection> {
    match r {
        Ok(c) => match &c.failure {
            Some(f) if f.harness_error => {
                errors.push(format!("{}: {}", c.config.name, f.report));
                None
            }
            Some(f) => Some(Detection { config: c.config.name.clone(), report: f.report.clone() }),
            None => None,
        },
        Err(e) => {
            errors.push(format!("{e:#}"));
            None
        }
    }
}

/// Applies `mutant` to a copy of `opts.rtl` and runs the checks.
pub fn run_mutant(mutant: &Mutant, opts: &MutateOptions) -> Result<MutantResult> {
    let t0 = Instant::now();
    let dir = opts.work.join(mutant.id);
    apply(mutant, &opts.rtl, &dir)?;
    let sources = RtlSources::new(std::path::absolute(&dir)?);
    let base = Options {
        sources: sources.clone(),
        cases: opts.cases,
        seed: opts.seed,
        shrink: false,
        artifacts: false,
        jobs: 1,
        stop_on_failure: true,
        verbose: false,
    };
    let modules = module_configs(mutant, &sources)?;
    let e2e = config::config(e2e_config(mutant.file)).context("the end-to-end network configuration")?;
    // The property suite (first failure stops it) and the network check run side by side.
    let (prop, net) = std::thread::scope(|s| {
        let big = || std::thread::Builder::new().stack_size(256 << 20);
        let a = big().spawn_scoped(s, || suite::check_all(&modules, &base)).expect("spawn");
        let b = big().spawn_scoped(s, || suite::check(&e2e, &base)).expect("spawn");
        (a.join().expect("property thread"), b.join().expect("network thread"))
    });
    let mut errors = vec![];
    let mut property = None;
    for r in &prop {
        if let Some(d) = detection(r, &mut errors) {
            property = Some(d);
            break;
        }
    }
    let end_to_end = detection(&net, &mut errors);
    Ok(MutantResult {
        id: mutant.id.into(),
        file: mutant.file.into(),
        what: mutant.what.into(),
        property,
        property_configs_run: prop.len(),
        end_to_end,
        errors,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Why a surviving mutant survived, where it has been analysed.
pub fn survivor_reason(id: &str) -> Option<&'static str> {
    match id {
        "mvtu_s1_valid_not_reset" => Some(
            "equivalent mutant: during reset nf_q = 0 and s_axis_tvalid = 0, so `issue` is 0, and the skid \
             buffer's reset makes `advance` 1 from the second reset cycle on; the flag is loaded with 0 \
             during any reset of two or more cycles (the harness resets for 8)",
        ),
        _ => None,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub mutants: usize,
    pub detected: usize,
    pub detected_by_property: usize,
    pub detected_by_end_to_end: usize,
    pub score: f64,
    pub threshold: f64,
    pub seed: u64,
    pub seconds: f64,
    pub results: Vec<MutantResult>,
}

pub const THRESHOLD: f64 = 0.95;

pub fn summarize(results: Vec<MutantResult>, seed: u64, seconds: f64) -> Summary {
    let detected = results.iter().filter(|r| r.detected()).count();
    Summary {
        mutants: results.len(),
        detected,
        detected_by_property: results.iter().filter(|r| r.property.is_some()).count(),
        detected_by_end_to_end: results.iter().filter(|r| r.end_to_end.is_some()).count(),
        score: if results.is_empty() { 0.0 } else { detected as f64 / results.len() as f64 },
        threshold: THRESHOLD,
        seed,
        seconds,
        results,
    }
}

fn first_line(s: &str) -> String {
    s.lines().find(|l| l.starts_with("beat:") || l.starts_with("error:")).unwrap_or("").trim().to_string()
}

/// The Markdown report.
pub fn markdown(s: &Summary) -> String {
    let mut out = format!(
        "# Mutation score of the RTL checks\n\n{} of {} mutants detected: **{:.1} %** (threshold {:.0} %); \
         property suite {}, end-to-end network ({E2E_CONFIG}; net_cnv_w1a1_px2 for the window- and pixel-parallel modules, net_par_w2a2_w4a4 for the threshold search) {}. Proptest seed {}, {:.0} s.\n\n\
         | mutant | file | bug | property suite | end-to-end | verdict |\n|---|---|---|---|---|---|\n",
        s.detected,
        s.mutants,
        100.0 * s.score,
        100.0 * s.threshold,
        s.detected_by_property,
        s.detected_by_end_to_end,
        s.seed,
        s.seconds
    );
    for r in &s.results {
        let p = r.property.as_ref().map_or(format!("missed ({} configs)", r.property_configs_run), |d| d.config.clone());
        let e = r.end_to_end.as_ref().map_or("missed".to_string(), |_| "detected".into());
        let v = if r.detected() { "detected" } else { "**survived**" };
        out.push_str(&format!("| `{}` | {} | {} | {} | {} | {} |\n", r.id, r.file, r.what, p, e, v));
    }
    let survivors: Vec<&MutantResult> = s.results.iter().filter(|r| !r.detected()).collect();
    if !survivors.is_empty() {
        out.push_str("\n## Survivors\n\n");
        for r in survivors {
            let why = survivor_reason(&r.id).map(str::to_string).unwrap_or_else(|| "not analysed".into());
            out.push_str(&format!("- `{}` ({}): {}\n", r.id, r.what, why));
            for e in &r.errors {
                out.push_str(&format!("  - harness error: {e}\n"));
            }
        }
    }
    out.push_str("\n## First mismatch per detected mutant\n\n");
    for r in s.results.iter().filter(|r| r.detected()) {
        let d = r.property.as_ref().or(r.end_to_end.as_ref()).expect("detected");
        out.push_str(&format!("- `{}` by {}: {}\n", r.id, d.config, first_line(&d.report)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mutant_applies_to_the_rtl_exactly_once_and_changes_it() {
        let all = mutants();
        assert!(all.len() >= 20, "{} mutants", all.len());
        let mut ids: Vec<&str> = all.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "mutant ids must be unique");
        let rtl = rtlgen::rtl_dir();
        for m in &all {
            let text = std::fs::read_to_string(rtl.join(m.file)).unwrap();
            let out = patch(&text, m).unwrap();
            assert_ne!(out, text, "{}", m.id);
        }
    }

    #[test]
    fn a_stale_pattern_fails_loudly() {
        let mut m = mutants().remove(0);
        m.find = "no such text";
        assert!(patch("module x; endmodule", &m).unwrap_err().to_string().contains("occurs 0 times"));
    }
}
