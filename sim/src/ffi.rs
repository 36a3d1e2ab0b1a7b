//! The C ABI of `cpp/shim.cpp`, loaded with libloading.
//!
//! Libraries are loaded once per path and never unloaded: Verilator's runtime registers
//! thread-local destructors, and unloading code they point into is a classic dlclose crash.

use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(crate) const ABI_VERSION: u32 = 2;

pub(crate) mod status {
    pub const DONE: u32 = 0;
    pub const MAX_CYCLES: u32 = 1;
    pub const STALLED: u32 = 2;
    pub const EXTRA_OUTPUT: u32 = 3;
    pub const OUT_FULL: u32 = 4;
    pub const FINISHED: u32 = 5;
    pub const FATAL: u32 = 6;
    pub const BROKEN: u32 = 7;
}

pub(crate) const MODE_UNTIL_DONE: u32 = 0;
pub(crate) const MODE_EXACT_CYCLES: u32 = 1;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Info {
    pub abi_version: u32,
    pub in_bits: u32,
    pub out_bits: u32,
    pub probe_words: u32,
    pub trace: u32,
    /// 1 when the trace writer is FST (`--trace-fst`), 0 for VCD.
    pub trace_fst: u32,
    pub reserved: [u32; 2],
}

#[repr(C)]
pub(crate) struct RunArgs {
    pub in_words: *const u32,
    pub in_beats: u64,
    pub out_words: *mut u32,
    pub in_cycles: *mut u64,
    pub out_cycles: *mut u64,
    pub out_capacity: u64,
    pub expected_outputs: u64,
    pub in_valid_pattern: *const u8,
    pub in_valid_len: u64,
    pub out_ready_pattern: *const u8,
    pub out_ready_len: u64,
    pub pattern_phase: u64,
    pub watchdog: u64,
    pub max_cycles: u64,
    pub mode: u32,
    pub reserved: u32,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RunResult {
    pub status: u32,
    pub s_axis_tready: u32,
    pub m_axis_tvalid: u32,
    pub offering: u32,
    pub cycles: u64,
    pub in_accepted: u64,
    pub out_received: u64,
    pub idle_cycles: u64,
}

type Handle = *mut c_void;

pub(crate) struct Api {
    info: unsafe extern "C" fn(*mut Info),
    verilator_version: unsafe extern "C" fn() -> *const c_char,
    pub create: unsafe extern "C" fn(u32, u32, *const c_char, *mut c_char, usize) -> Handle,
    pub destroy: unsafe extern "C" fn(Handle),
    pub warnings: unsafe extern "C" fn(Handle, *mut c_char, usize, u32) -> usize,
    pub error: unsafe extern "C" fn(Handle, *mut c_char, usize) -> usize,
    pub cycle: unsafe extern "C" fn(Handle) -> u64,
    pub probes: unsafe extern "C" fn(Handle, *mut u32),
    pub reset: unsafe extern "C" fn(Handle, u64) -> u32,
    pub run: unsafe extern "C" fn(Handle, *const RunArgs, *mut RunResult),
}

impl Api {
    pub fn info(&self) -> Info {
        let mut i = Info::default();
        // SAFETY: fills a repr(C) struct of the layout the shim declares.
        unsafe { (self.info)(&mut i) };
        i
    }

    /// VERILATOR_VERSION as compiled into the library.
    pub fn verilator_version(&self) -> String {
        // SAFETY: returns a pointer to a static string literal in the (never unloaded) library.
        unsafe { std::ffi::CStr::from_ptr((self.verilator_version)()) }.to_string_lossy().into_owned()
    }

    /// Reads a string through one of the shim's (handle, buf, len) -> full length functions.
    pub fn read_string(&self, f: impl Fn(*mut c_char, usize) -> usize) -> String {
        let mut buf = vec![0u8; 4096];
        let n = f(buf.as_mut_ptr().cast(), buf.len());
        if n >= buf.len() {
            buf = vec![0u8; n + 1];
            f(buf.as_mut_ptr().cast(), buf.len());
        }
        buf.truncate(n);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

static LOADED: Mutex<Option<HashMap<PathBuf, &'static Api>>> = Mutex::new(None);

pub(crate) fn load(path: &Path) -> Result<&'static Api, String> {
    let mut guard = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(api) = map.get(path) {
        return Ok(api);
    }
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    // SAFETY: the library is ours (built from shim.cpp); its static initialisers only set up
    // the Verilator runtime. RTLD_NOW reports a missing symbol here rather than mid-run.
    let lib = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| e.to_string())?;
    let lib: &'static Library = Box::leak(Box::new(lib));
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the signature matches the shim's declaration (checked by ABI_VERSION).
            *unsafe { lib.get($name) }.map_err(|e| format!("{}: {e}", String::from_utf8_lossy($name)))?
        };
    }
    let api = Api {
        info: sym!(b"vsim_info\0"),
        verilator_version: sym!(b"vsim_verilator_version\0"),
        create: sym!(b"vsim_create\0"),
        destroy: sym!(b"vsim_destroy\0"),
        warnings: sym!(b"vsim_warnings\0"),
        error: sym!(b"vsim_error\0"),
        cycle: sym!(b"vsim_cycle\0"),
        probes: sym!(b"vsim_probes\0"),
        reset: sym!(b"vsim_reset\0"),
        run: sym!(b"vsim_run\0"),
    };
    let abi = api.info().abi_version;
    if abi != ABI_VERSION {
        return Err(format!("shim ABI version {abi}, this crate speaks {ABI_VERSION}"));
    }
    let api: &'static Api = Box::leak(Box::new(api));
    map.insert(path.to_path_buf(), api);
    Ok(api)
}
