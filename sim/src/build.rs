//! Verilating, compiling and caching a top as a shared library.

use crate::BuildError;
use crate::ffi::{self, Api};
use crate::verilator::{VerilatorInfo, find_verilator, search_path};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The C++ shim, hashed into every cache key so an edit rebuilds every library.
pub(crate) const SHIM_SOURCE: &str = include_str!("../cpp/shim.cpp");

/// Bump when the build recipe below changes in a way the hashed inputs do not show.
const RECIPE: &str = "vsim-recipe-2";

/// Compile flags of the model, the runtime objects and the shim (via Verilator's -CFLAGS).
/// -fPIC: everything ends up in a shared library (5.006's --build would not add it).
/// -fvisibility=hidden + the version script: several models (and Verilator versions) are
/// loaded into one process, each with its own copy of the Verilator runtime; none may
/// interpose another's symbols.
/// VL_USER_FATAL/VL_USER_WARN: the shim turns runtime errors into error returns instead of
/// the default abort(), and collects warnings such as "$readmem file not found".
const CFLAGS: &[&str] = &["-fPIC", "-fvisibility=hidden", "-DVL_USER_FATAL", "-DVL_USER_WARN"];

/// Optimisation of the hot model code (the toolchain notes: 11.0 -> 15.9 Mcycles/s over -Os).
const OPT_FAST: &str = "-O3";

const MAKE_JOBS: &str = "-j2";

/// How Verilator initialises variables that have no reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum XInitial {
    /// Zero (`--x-assign fast --x-initial fast`): fastest, for throughput runs.
    #[default]
    Fast,
    /// Random per run (`--x-assign unique --x-initial unique`), drawn from
    /// [`SimOptions::seed`](crate::SimOptions::seed): for verification runs that must not
    /// depend on a lucky power-up state.
    Unique,
}

/// Waveform format of a traced build: one per library, because Verilator compiles one trace
/// writer into the model (`--trace` or `--trace-fst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TraceFormat {
    /// Value change dump: plain text, read by everything, large.
    Vcd,
    /// GTKWave's Fast Signal Trace: compressed (typically 10-50x smaller than VCD), opened by
    /// GTKWave and Surfer. Needs zlib (and, for newer Verilators, lz4) headers to build.
    Fst,
}

impl TraceFormat {
    /// The format a file name asks for: `.fst` or `.vcd` (case-insensitive); anything else is an
    /// error that says which names work.
    pub fn from_path(path: &Path) -> Result<TraceFormat, String> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("fst") => Ok(TraceFormat::Fst),
            Some("vcd") => Ok(TraceFormat::Vcd),
            _ => Err(format!(
                "cannot tell the waveform format of {}: name the file *.fst (compressed, for GTKWave or Surfer) or *.vcd",
                path.display()
            )),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            TraceFormat::Vcd => "vcd",
            TraceFormat::Fst => "fst",
        }
    }

    fn verilator_flag(self) -> &'static str {
        match self {
            TraceFormat::Vcd => "--trace",
            TraceFormat::Fst => "--trace-fst",
        }
    }
}

/// A `-G` parameter override.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Param {
    /// `-GNAME=value`.
    Int(i64),
    /// A string, e.g. a `$readmemh` file path: passed as `-GNAME="value"` (one argument with
    /// the double quotes in it; a shell would need `-GNAME="\"value\""`). Relative paths are
    /// resolved by the simulation at run time against its working directory: pass absolute ones.
    Str(String),
    /// Passed verbatim as `-GNAME=<text>`, e.g. `4'b1010`.
    Raw(String),
}

impl Param {
    fn render(&self) -> String {
        match self {
            Param::Int(v) => v.to_string(),
            Param::Str(s) => format!("\"{s}\""),
            Param::Raw(s) => s.clone(),
        }
    }
}

/// What to build. The cache key covers every field (source and include-directory contents,
/// not just names) plus the Verilator, the C++ compiler and the shim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BuildSpec {
    /// Top module name.
    pub top: String,
    /// SystemVerilog/Verilog sources, in the order given to Verilator.
    pub sources: Vec<PathBuf>,
    /// `-I` directories (every file directly in them is hashed).
    pub include_dirs: Vec<PathBuf>,
    /// `-G` overrides of the top's parameters.
    pub params: Vec<(String, Param)>,
    /// Build with waveform tracing in this format; a traced run also needs
    /// [`SimOptions::trace`](crate::SimOptions::trace). Tracing only observes: a traced build
    /// gives the same beats and cycle stamps as an untraced one.
    pub trace: Option<TraceFormat>,
    pub x_initial: XInitial,
    /// Make Verilator warnings fatal (off by default: lint is `cargo xtask lint`'s job,
    /// and a newer Verilator may warn about code an older one accepted).
    pub warnings_fatal: bool,
    /// Further Verilator arguments, appended last.
    pub extra_flags: Vec<String>,
}

impl BuildSpec {
    pub fn new(top: impl Into<String>, sources: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        BuildSpec {
            top: top.into(),
            sources: sources.into_iter().map(Into::into).collect(),
            include_dirs: Vec::new(),
            params: Vec::new(),
            trace: None,
            x_initial: XInitial::Fast,
            warnings_fatal: false,
            extra_flags: Vec::new(),
        }
    }
    pub fn include_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.include_dirs.push(dir.into());
        self
    }
    pub fn param(mut self, name: impl Into<String>, value: Param) -> Self {
        self.params.push((name.into(), value));
        self
    }
    pub fn param_int(self, name: impl Into<String>, value: i64) -> Self {
        self.param(name, Param::Int(value))
    }
    pub fn param_str(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.param(name, Param::Str(value.into()))
    }
    /// VCD tracing on or off (see [`BuildSpec::trace_format`] for FST).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on.then_some(TraceFormat::Vcd);
        self
    }
    pub fn trace_format(mut self, format: Option<TraceFormat>) -> Self {
        self.trace = format;
        self
    }
    pub fn x_initial(mut self, mode: XInitial) -> Self {
        self.x_initial = mode;
        self
    }
    pub fn flag(mut self, flag: impl Into<String>) -> Self {
        self.extra_flags.push(flag.into());
        self
    }

    fn check(&self) -> Result<(), BuildError> {
        let bad = |problem: String| Err(BuildError::Spec { top: self.top.clone(), problem });
        if !is_identifier(&self.top) {
            return bad("the top module name must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*)".into());
        }
        if self.sources.is_empty() {
            return bad("no source files".into());
        }
        for (name, value) in &self.params {
            if !is_identifier(name) {
                return bad(format!("parameter name {name:?} is not an identifier"));
            }
            if let Param::Str(s) = value
                && (s.contains('"') || s.contains('\\') || s.contains('\n'))
            {
                return bad(format!("string parameter {name} = {s:?} contains a quote, backslash or newline"));
            }
        }
        Ok(())
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What a cache directory holds, written last before the directory is published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: u32,
    pub key: String,
    pub top: String,
    pub in_bits: u32,
    pub out_bits: u32,
    pub probe_words: u32,
    pub trace: Option<TraceFormat>,
    pub x_initial: XInitial,
    pub verilator: VerilatorInfo,
    pub cxx: PathBuf,
    /// Relative to the cache directory.
    pub library: String,
    pub obj_dir: String,
    pub model_archive: String,
    /// Absolute paths into the runtime cache (verilated.o, ...).
    pub runtime_objects: Vec<PathBuf>,
    pub build_seconds: f64,
}

const MANIFEST: &str = "manifest.json";
const MANIFEST_FORMAT: u32 = 2;

/// A built (or cached) model, loaded into this process.
#[derive(Clone)]
pub struct Library {
    dir: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) api: &'static Api,
    from_cache: bool,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("top", &self.manifest.top)
            .field("dir", &self.dir)
            .field("in_bits", &self.manifest.in_bits)
            .field("out_bits", &self.manifest.out_bits)
            .field("probe_words", &self.manifest.probe_words)
            .finish()
    }
}

impl Library {
    /// The shared library file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.manifest.library)
    }
    /// The cache directory `<target>/verilator/<key>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// SHA-256 cache key (hex).
    pub fn key(&self) -> &str {
        &self.manifest.key
    }
    pub fn top(&self) -> &str {
        &self.manifest.top
    }
    /// Width of `s_axis_tdata`.
    pub fn in_bits(&self) -> u32 {
        self.manifest.in_bits
    }
    /// Width of `m_axis_tdata`.
    pub fn out_bits(&self) -> u32 {
        self.manifest.out_bits
    }
    /// 32-bit words per input beat in [`Sim::run`](crate::Sim::run)'s flat buffers.
    pub fn in_words(&self) -> usize {
        self.manifest.in_bits.div_ceil(32) as usize
    }
    pub fn out_words(&self) -> usize {
        self.manifest.out_bits.div_ceil(32) as usize
    }
    /// Number of 32-bit `dbg_probes` fields (0 when the top has none).
    pub fn probe_count(&self) -> usize {
        self.manifest.probe_words as usize
    }
    /// Built with tracing (either format).
    pub fn has_trace(&self) -> bool {
        self.manifest.trace.is_some()
    }
    /// The waveform format the library writes, if traced.
    pub fn trace_format(&self) -> Option<TraceFormat> {
        self.manifest.trace
    }
    pub fn x_initial(&self) -> XInitial {
        self.manifest.x_initial
    }
    pub fn verilator(&self) -> &VerilatorInfo {
        &self.manifest.verilator
    }
    /// This call found the library in the cache rather than building it.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }
    /// `VERILATOR_VERSION` as compiled into the library's runtime, e.g. `5.006 2023-01-22`.
    pub fn runtime_version(&self) -> String {
        self.api.verilator_version()
    }
    /// Seconds the original build took.
    pub fn build_seconds(&self) -> f64 {
        self.manifest.build_seconds
    }
    /// Verilator's output directory (V<top>.h, V<top>__ALL.a), for linking other C++
    /// against the same model.
    pub fn obj_dir(&self) -> PathBuf {
        self.dir.join(&self.manifest.obj_dir)
    }
    pub(crate) fn model_archive(&self) -> PathBuf {
        self.dir.join(&self.manifest.model_archive)
    }
    pub(crate) fn runtime_objects(&self) -> &[PathBuf] {
        &self.manifest.runtime_objects
    }
    pub(crate) fn cxx(&self) -> &Path {
        &self.manifest.cxx
    }

    fn open(dir: &Path, from_cache: bool) -> Result<Library, BuildError> {
        let load_err = |detail: String| BuildError::Load { path: dir.to_path_buf(), detail };
        let text = fs::read_to_string(dir.join(MANIFEST)).map_err(|e| load_err(format!("reading {MANIFEST}: {e}")))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| load_err(format!("parsing {MANIFEST}: {e}")))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(load_err(format!("manifest format {} (expected {MANIFEST_FORMAT})", manifest.format)));
        }
        let api = ffi::load(&dir.join(&manifest.library)).map_err(load_err)?;
        let info = api.info();
        let trace = match (info.trace, info.trace_fst) {
            (0, _) => None,
            (_, 0) => Some(TraceFormat::Vcd),
            _ => Some(TraceFormat::Fst),
        };
        if (info.in_bits, info.out_bits, info.probe_words, trace)
            != (manifest.in_bits, manifest.out_bits, manifest.probe_words, manifest.trace)
        {
            return Err(load_err("the library's ports disagree with its manifest".into()));
        }
        Ok(Library { dir: dir.to_path_buf(), manifest, api, from_cache })
    }
}

/// Builds libraries with one Verilator into one cache directory.
#[derive(Debug, Clone)]
pub struct Builder {
    pub verilator: VerilatorInfo,
    /// Holds one directory per cache key, runtime-object directories and `.locks/`.
    pub cache_root: PathBuf,
    /// Print the one-line build notice to stderr.
    pub verbose: bool,
}

/// [`Builder::from_env`]`()?.build(spec)`: Verilator from the environment, cache under
/// the workspace's `target/verilator`.
pub fn build(spec: &BuildSpec) -> Result<Library, BuildError> {
    Builder::from_env()?.build(spec)
}

/// `$CARGO_TARGET_DIR/verilator`, else `<workspace>/target/verilator`, the workspace being
/// the outermost directory above `CARGO_MANIFEST_DIR` whose Cargo.toml has `[workspace]`.
pub fn default_cache_root() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        let t = PathBuf::from(t);
        let t = if t.is_absolute() { t } else { std::env::current_dir().map(|d| d.join(&t)).unwrap_or(t) };
        return t.join("verilator");
    }
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let workspace = start
        .ancestors()
        .filter(|d| {
            fs::read_to_string(d.join("Cargo.toml"))
                .map(|t| t.lines().any(|l| l.trim() == "[workspace]"))
                .unwrap_or(false)
        })
        .last()
        .unwrap_or(&start)
        .to_path_buf();
    workspace.join("target").join("verilator")
}

struct Tools {
    cxx: PathBuf,
    cxx_version: String,
    make: PathBuf,
    python3: PathBuf,
}

fn tools() -> Result<Tools, BuildError> {
    let path = std::env::var_os("PATH");
    let find = |name: &str, hint: &str| -> Result<PathBuf, BuildError> {
        let p = Path::new(name);
        if p.is_absolute() {
            return if p.is_file() {
                Ok(p.to_path_buf())
            } else {
                Err(BuildError::ToolMissing { tool: name.into(), detail: "no such file".into(), hint: hint.into() })
            };
        }
        search_path(name, path.as_deref()).ok_or_else(|| BuildError::ToolMissing {
            tool: name.into(),
            detail: "not on PATH".into(),
            hint: hint.into(),
        })
    };
    let cxx_name = std::env::var("CXX").ok().filter(|c| !c.is_empty()).unwrap_or_else(|| "g++".into());
    let cxx = find(&cxx_name, "install a C++ compiler with `apt-get install g++` (as root) or set CXX")?;
    let out = Command::new(&cxx).arg("--version").output().map_err(|e| BuildError::ToolMissing {
        tool: cxx_name.clone(),
        detail: e.to_string(),
        hint: "install a C++ compiler with `apt-get install g++` (as root) or set CXX".into(),
    })?;
    let cxx_version = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_string();
    Ok(Tools {
        cxx,
        cxx_version,
        make: find("make", "install it with `apt-get install make` (as root)")?,
        python3: find("python3", "Verilator's make files need it: `apt-get install python3` (as root)")?,
    })
}

/// Length-prefixed fields, so that ("ab","c") and ("a","bc") hash differently.
struct KeyHasher(Sha256);

impl KeyHasher {
    fn new(domain: &str) -> Self {
        let mut h = KeyHasher(Sha256::new());
        h.field(domain.as_bytes());
        h
    }
    fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }
    fn str(&mut self, s: &str) {
        self.field(s.as_bytes());
    }
    fn path(&mut self, p: &Path) {
        self.field(p.as_os_str().as_encoded_bytes());
    }
    fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

fn verilator_identity(h: &mut KeyHasher, v: &VerilatorInfo) {
    h.path(&v.path);
    h.path(&v.root);
    h.str(&v.version_line);
    h.str(&v.number.to_string());
}

impl Builder {
    /// Verilator from `VERILATOR_ROOT`/`PATH`, cache in [`default_cache_root`].
    pub fn from_env() -> Result<Builder, BuildError> {
        Ok(Builder::new(find_verilator()?, default_cache_root()))
    }

    pub fn new(verilator: VerilatorInfo, cache_root: impl Into<PathBuf>) -> Builder {
        Builder { verilator, cache_root: cache_root.into(), verbose: true }
    }

    /// Returns the cached library for `spec`, building it first if needed. Safe to call
    /// concurrently from threads and processes: one builds, the others wait and reuse it.
    pub fn build(&self, spec: &BuildSpec) -> Result<Library, BuildError> {
        spec.check()?;
        let tools = tools()?;
        let sources = spec
            .sources
            .iter()
            .map(|s| s.canonicalize().map_err(|e| BuildError::io("cannot read source file", s, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let include_dirs = spec
            .include_dirs
            .iter()
            .map(|d| d.canonicalize().map_err(|e| BuildError::io("cannot read include directory", d, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let key = self.key(spec, &sources, &include_dirs, &tools)?;
        let short = &key[..24];
        fs::create_dir_all(&self.cache_root)
            .map_err(|e| BuildError::io("cannot create cache directory", &self.cache_root, e))?;
        let dir = self.cache_root.join(short);
        // A published directory is complete (it appears by rename), so no lock is needed to use it.
        if dir.join(MANIFEST).is_file() {
            return Library::open(&dir, true);
        }
        let _lock = self.lock(short, &spec.top)?;
        if dir.join(MANIFEST).is_file() {
            return Library::open(&dir, true);
        }
        self.remove_stale_temps(short);
        let started = Instant::now();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".tmp-{short}-"))
            .tempdir_in(&self.cache_root)
            .map_err(|e| BuildError::io("cannot create a build directory in", &self.cache_root, e))?;
        let manifest = self.build_into(spec, &sources, &include_dirs, &tools, &key, tmp.path(), started)?;
        let json = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
        write_file(&tmp.path().join(MANIFEST), json.as_bytes())?;
        let tmp_path = tmp.keep();
        if let Err(e) = fs::rename(&tmp_path, &dir) {
            let _ = fs::remove_dir_all(&tmp_path);
            if !dir.join(MANIFEST).is_file() {
                return Err(BuildError::io("cannot publish the build as", &dir, e));
            }
        }
        if self.verbose {
            eprintln!(
                "sim: built `{}` with {} in {:.1} s -> {}",
                spec.top,
                self.verilator.describe(),
                started.elapsed().as_secs_f64(),
                dir.display()
            );
        }
        Library::open(&dir, false)
    }

    fn key(
        &self,
        spec: &BuildSpec,
        sources: &[PathBuf],
        include_dirs: &[PathBuf],
        tools: &Tools,
    ) -> Result<String, BuildError> {
        let mut h = KeyHasher::new(RECIPE);
        h.str(&spec.top);
        for s in sources {
            h.path(s);
            h.field(&fs::read(s).map_err(|e| BuildError::io("cannot read source file", s, e))?);
        }
        for d in include_dirs {
            h.path(d);
            let mut files: Vec<PathBuf> = fs::read_dir(d)
                .map_err(|e| BuildError::io("cannot read include directory", d, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                h.path(&f);
                h.field(&fs::read(&f).map_err(|e| BuildError::io("cannot read include file", &f, e))?);
            }
        }
        for (name, value) in &spec.params {
            h.str(name);
            h.str(&value.render());
        }
        h.str(&format!("trace={:?} x={:?} wfatal={}", spec.trace, spec.x_initial, spec.warnings_fatal));
        for f in &spec.extra_flags {
            h.str(f);
        }
        verilator_identity(&mut h, &self.verilator);
        h.path(&tools.cxx);
        h.str(&tools.cxx_version);
        for f in CFLAGS {
            h.str(f);
        }
        h.str(OPT_FAST);
        h.str(SHIM_SOURCE);
        Ok(h.finish())
    }

    fn lock(&self, name: &str, top: &str) -> Result<File, BuildError> {
        let locks = self.cache_root.join(".locks");
        fs::create_dir_all(&locks).map_err(|e| BuildError::io("cannot create lock directory", &locks, e))?;
        let path = locks.join(format!("{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| BuildError::io("cannot open lock file", &path, e))?;
        // flock-style locks conflict between separate opens, so this serialises threads of
        // this process as well as other processes.
        if file.try_lock().is_err() {
            if self.verbose {
                eprintln!("sim: waiting for another build of `{top}` ({})", path.display());
            }
            file.lock().map_err(|e| BuildError::io("cannot lock", &path, e))?;
        }
        Ok(file)
    }

    /// Only called with the key's lock held, so any temp dir of this key is a dead build's.
    fn remove_stale_temps(&self, short: &str) {
        let prefix = format!(".tmp-{short}-");
        if let Ok(entries) = fs::read_dir(&self.cache_root) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }

    fn verilator_cmd(&self) -> Command {
        let mut cmd = Command::new(&self.verilator.path);
        if self.verilator.via_verilator_root {
            self.verilator.apply_env(&mut cmd);
        }
        cmd
    }

    #[allow(clippy::too_many_arguments)]
    fn build_into(
        &self,
        spec: &BuildSpec,
        sources: &[PathBuf],
        include_dirs: &[PathBuf],
        tools: &Tools,
        key: &str,
        tmp: &Path,
        started: Instant,
    ) -> Result<Manifest, BuildError> {
        let top = &spec.top;
        let prefix = format!("V{top}");
        let obj = tmp.join("obj");

        let mut cmd = self.verilator_cmd();
        cmd.args(["--cc", "--top-module", top, "--prefix", &prefix, "-O3"]).arg("--Mdir").arg(&obj);
        let x = match spec.x_initial {
            XInitial::Fast => "fast",
            XInitial::Unique => "unique",
        };
        cmd.args(["--x-assign", x, "--x-initial", x]);
        if let Some(f) = spec.trace {
            cmd.arg(f.verilator_flag());
        }
        if !spec.warnings_fatal {
            cmd.arg("-Wno-fatal");
        }
        for f in CFLAGS {
            cmd.args(["-CFLAGS", f]);
        }
        for d in include_dirs {
            cmd.arg(format!("-I{}", d.display()));
        }
        for (name, value) in &spec.params {
            cmd.arg(format!("-G{name}={}", value.render()));
        }
        cmd.args(&spec.extra_flags);
        cmd.args(sources);
        let out = run(&mut cmd, "verilator")?;
        let log = combined(&out);
        write_file(&tmp.join("verilate.log"), log.as_bytes())?;
        if !out.status.success() {
            return Err(BuildError::Verilate { top: top.clone(), status: out.status.to_string(), log: tail(&log, 60) });
        }

        let header_path = obj.join(format!("{prefix}.h"));
        let header = fs::read_to_string(&header_path).map_err(|e| BuildError::io("cannot read", &header_path, e))?;
        let ports = check_ports(top, &parse_ports(&header))?;
        let classes_path = obj.join(format!("{prefix}_classes.mk"));
        let classes = fs::read_to_string(&classes_path).map_err(|e| BuildError::io("cannot read", &classes_path, e))?;
        let globals = make_list(&classes, "VM_GLOBAL_FAST")
            .into_iter()
            .chain(make_list(&classes, "VM_GLOBAL_SLOW"))
            .collect::<Vec<_>>();

        write_file(
            &obj.join("vsim_config.h"),
            format!(
                "// Generated by the sim crate for top `{top}`.\n#define VSIM_TOP {prefix}\n#define VSIM_TOP_HEADER \"{prefix}.h\"\n\
                 #define VSIM_IN_BITS {}\n#define VSIM_OUT_BITS {}\n#define VSIM_PROBE_WORDS {}\n",
                ports.in_bits, ports.out_bits, ports.probe_words
            )
            .as_bytes(),
        )?;
        write_file(&obj.join("vsim_shim.cpp"), SHIM_SOURCE.as_bytes())?;
        write_file(&obj.join("vsim.map"), b"{ global: vsim_*; local: *; };\n")?;

        // The Verilator runtime (verilated.o, ...) depends only on the Verilator, compiler and
        // flags: it is compiled once into its own cache directory and linked into every model.
        let mut rt = KeyHasher::new("vsim-runtime-1");
        verilator_identity(&mut rt, &self.verilator);
        rt.path(&tools.cxx);
        rt.str(&tools.cxx_version);
        rt.str(&format!("trace={:?}", spec.trace));
        // The C flags Verilator actually put in the make file (ours plus any -CFLAGS among
        // the extra flags) decide how the runtime compiles; other flags do not matter to it.
        let mk_path = obj.join(format!("{prefix}.mk"));
        let mk = fs::read_to_string(&mk_path).map_err(|e| BuildError::io("cannot read", &mk_path, e))?;
        for f in make_list(&mk, "VM_USER_CFLAGS").iter().chain(globals.iter()) {
            rt.str(f);
        }
        let rt_key = rt.finish();
        let rt_dir = self.cache_root.join(format!("runtime-{}", &rt_key[..24]));
        let rt_objs: Vec<String> = globals.iter().map(|g| format!("{g}.o")).collect();
        let mut model_targets = vec![format!("{prefix}__ALL.a"), "vsim_shim.o".to_string()];
        if !rt_dir.is_dir() {
            let _rt_lock = self.lock(&format!("runtime-{}", &rt_key[..24]), top)?;
            if !rt_dir.is_dir() {
                // Compile runtime and model in one make run so -j2 overlaps them.
                let mut targets = model_targets.clone();
                targets.extend(rt_objs.iter().cloned());
                self.make(&obj, &prefix, &targets, tools, top)?;
                let rt_tmp = tempfile::Builder::new()
                    .prefix(".tmp-runtime-")
                    .tempdir_in(&self.cache_root)
                    .map_err(|e| BuildError::io("cannot create a build directory in", &self.cache_root, e))?;
                for o in &rt_objs {
                    fs::copy(obj.join(o), rt_tmp.path().join(o))
                        .map_err(|e| BuildError::io("cannot copy", obj.join(o), e))?;
                }
                let rt_tmp = rt_tmp.keep();
                if fs::rename(&rt_tmp, &rt_dir).is_err() {
                    let _ = fs::remove_dir_all(&rt_tmp);
                }
                model_targets.clear();
            }
        }
        if !model_targets.is_empty() {
            self.make(&obj, &prefix, &model_targets, tools, top)?;
        }
        let runtime_objects: Vec<PathBuf> = rt_objs.iter().map(|o| rt_dir.join(o)).collect();

        let lib_name = format!("libvsim_{top}.so");
        let mut link = Command::new(&tools.cxx);
        link.arg("-shared")
            .arg("-o")
            .arg(tmp.join(&lib_name))
            .arg(obj.join("vsim_shim.o"))
            .arg(obj.join(format!("{prefix}__ALL.a")))
            .args(&runtime_objects)
            .arg(format!("-Wl,--version-script={}", obj.join("vsim.map").display()))
            .args(["-Wl,--no-undefined", "-pthread", "-latomic"])
            .args(trace_libs(&self.verilator, spec.trace));
        let out = run(&mut link, "c++")?;
        if !out.status.success() {
            return Err(BuildError::Compile {
                top: top.clone(),
                step: "link",
                status: out.status.to_string(),
                log: with_library_hint(tail(&combined(&out), 60)),
            });
        }

        Ok(Manifest {
            format: MANIFEST_FORMAT,
            key: key.to_string(),
            top: top.clone(),
            in_bits: ports.in_bits,
            out_bits: ports.out_bits,
            probe_words: ports.probe_words,
            trace: spec.trace,
            x_initial: spec.x_initial,
            verilator: self.verilator.clone(),
            cxx: tools.cxx.clone(),
            library: lib_name,
            obj_dir: "obj".into(),
            model_archive: format!("obj/{prefix}__ALL.a"),
            runtime_objects,
            build_seconds: Duration::as_secs_f64(&started.elapsed()),
        })
    }

    fn make(&self, obj: &Path, prefix: &str, targets: &[String], tools: &Tools, top: &str) -> Result<(), BuildError> {
        let mut cmd = make_cmd(&self.verilator, tools, obj, Path::new(&format!("{prefix}.mk")));
        cmd.args(targets);
        let out = run(&mut cmd, "make")?;
        let log = combined(&out);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(obj.join("make.log"))
            .map_err(|e| BuildError::io("cannot write", obj.join("make.log"), e))?;
        let _ = f.write_all(log.as_bytes());
        if !out.status.success() {
            return Err(BuildError::Compile {
                top: top.to_string(),
                step: "compile",
                status: out.status.to_string(),
                log: with_library_hint(tail(&log, 60)),
            });
        }
        Ok(())
    }
}

/// `make -f <makefile>` in `dir` with our speed and tool settings.
fn make_cmd(verilator: &VerilatorInfo, tools: &Tools, dir: &Path, makefile: &Path) -> Command {
    let mut cmd = Command::new(&tools.make);
    cmd.current_dir(dir)
        .arg("-f")
        .arg(makefile)
        .arg(MAKE_JOBS)
        .arg(format!("OPT_FAST={OPT_FAST}"))
        .arg(format!("CXX={}", tools.cxx.display()))
        .arg(format!("LINK={}", tools.cxx.display()))
        // The PyPI wheel's verilated.mk names `python`, which Debian does not have.
        .arg(format!("PYTHON3={}", tools.python3.display()))
        // The wheel's verilated.mk also leaves the precompiled-header include flag empty, so
        // models big enough for parallel builds fail with "pch.h.fast: linker input file not
        // found". `-include` is what configure puts there for GCC and Clang; 5.006 has no PCH.
        .arg("CFG_CXXFLAGS_PCH_I=-include")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    verilator.apply_env(&mut cmd);
    cmd
}

/// Libraries the FST writer needs at link time: zlib, and lz4 for the writer of newer Verilators
/// (their verilated.mk says `-llz4 -lz`; 5.006 carries its own lz4).
fn trace_libs(verilator: &VerilatorInfo, trace: Option<TraceFormat>) -> Vec<&'static str> {
    if trace != Some(TraceFormat::Fst) {
        return Vec::new();
    }
    let mk = fs::read_to_string(verilator.root.join("include").join("verilated.mk")).unwrap_or_default();
    if mk.contains("-llz4") { vec!["-llz4", "-lz"] } else { vec!["-lz"] }
}

/// A compile or link log that failed for want of the FST writer's libraries says how to get them.
fn with_library_hint(log: String) -> String {
    let missing = ["zlib.h", "lz4.h", "-lz", "-llz4"].iter().any(|m| log.contains(&format!("{m}: No such file")))
        || log.contains("cannot find -lz")
        || log.contains("cannot find -llz4");
    if missing {
        format!("{log}\nFST tracing needs zlib and lz4 headers: install them with `apt-get install --no-install-recommends zlib1g-dev liblz4-dev` (as root), or trace to a .vcd file")
    } else {
        log
    }
}

fn run(cmd: &mut Command, tool: &str) -> Result<Output, BuildError> {
    cmd.output().map_err(|e| BuildError::ToolMissing {
        tool: tool.to_string(),
        detail: e.to_string(),
        hint: "check the installation".into(),
    })
}

fn combined(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut s = String::new();
    if start > 0 {
        s.push_str(&format!("[... {start} earlier lines]\n"));
    }
    s.push_str(&all[start..].join("\n"));
    s
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    fs::write(path, bytes).map_err(|e| BuildError::io("cannot write", path, e))
}

/// The words of a `NAME += \` (or `NAME = \`) list in a Verilator-generated make file.
fn make_list(mk: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_list = false;
    for line in mk.lines() {
        let t = line.trim();
        if !in_list {
            if let Some(rest) = t.strip_prefix(name)
                && let Some(rest) = rest.trim_start().strip_prefix("+=").or_else(|| rest.trim_start().strip_prefix('='))
            {
                out.extend(rest.split_whitespace().filter(|w| *w != "\\").map(String::from));
                in_list = t.ends_with('\\');
            }
        } else {
            out.extend(t.split_whitespace().filter(|w| *w != "\\").map(String::from));
            in_list = t.ends_with('\\');
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Port {
    pub name: String,
    pub input: bool,
    pub msb: u32,
    pub lsb: u32,
}

/// Ports as declared in V<top>.h: `VL_IN8(&ap_clk,0,0);`, `VL_OUTW(&dbg_probes,95,0,3);`.
pub(crate) fn parse_ports(header: &str) -> Vec<Port> {
    header
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (mac, rest) = l.split_once('(')?;
            let input = if mac.starts_with("VL_INOUT") {
                return Some(Port {
                    name: rest.split(',').next()?.trim_start_matches('&').to_string(),
                    input: false,
                    msb: u32::MAX,
                    lsb: 0,
                });
            } else if mac.starts_with("VL_IN") {
                true
            } else if mac.starts_with("VL_OUT") {
                false
            } else {
                return None;
            };
            let args: Vec<&str> = rest.split(')').next()?.split(',').map(str::trim).collect();
            Some(Port {
                name: args.first()?.trim_start_matches('&').to_string(),
                input,
                msb: args.get(1)?.parse().ok()?,
                lsb: args.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortWidths {
    pub in_bits: u32,
    pub out_bits: u32,
    pub probe_words: u32,
}

pub(crate) fn check_ports(top: &str, ports: &[Port]) -> Result<PortWidths, BuildError> {
    let err = |problem: String| BuildError::Ports { top: top.to_string(), problem };
    // (name, is input, required width or None for any)
    const EXPECTED: [(&str, bool, Option<u32>); 8] = [
        ("ap_clk", true, Some(1)),
        ("ap_rst_n", true, Some(1)),
        ("s_axis_tdata", true, None),
        ("s_axis_tvalid", true, Some(1)),
        ("s_axis_tready", false, Some(1)),
        ("m_axis_tdata", false, None),
        ("m_axis_tvalid", false, Some(1)),
        ("m_axis_tready", true, Some(1)),
    ];
    let mut widths = PortWidths { in_bits: 0, out_bits: 0, probe_words: 0 };
    for p in ports {
        if p.msb == u32::MAX {
            return Err(err(format!("inout port `{}` is not supported", p.name)));
        }
        if p.lsb != 0 || p.msb < p.lsb {
            return Err(err(format!("port `{}` is [{}:{}]; ports must be [N-1:0]", p.name, p.msb, p.lsb)));
        }
        let bits = p.msb + 1;
        let dir = if p.input { "input" } else { "output" };
        if p.name == "dbg_probes" {
            if p.input || bits % 32 != 0 {
                return Err(err(format!("dbg_probes is a {bits}-bit {dir}; it must be an output of 32*N bits")));
            }
            widths.probe_words = bits / 32;
            continue;
        }
        let Some(&(_, input, want)) = EXPECTED.iter().find(|e| e.0 == p.name) else {
            return Err(err(format!("unexpected {dir} port `{}` ({bits} bits)", p.name)));
        };
        if input != p.input {
            return Err(err(format!(
                "`{}` is an {dir}; it must be an {}",
                p.name,
                if input { "input" } else { "output" }
            )));
        }
        if let Some(w) = want
            && w != bits
        {
            return Err(err(format!("`{}` is {bits} bits wide; it must be {w}", p.name)));
        }
        match p.name.as_str() {
            "s_axis_tdata" => widths.in_bits = bits,
            "m_axis_tdata" => widths.out_bits = bits,
            _ => {}
        }
    }
    let missing: Vec<&str> = EXPECTED.iter().map(|e| e.0).filter(|n| !ports.iter().any(|p| p.name == *n)).collect();
    if !missing.is_empty() {
        return Err(err(format!("missing port(s) {}", missing.join(", "))));
    }
    Ok(widths)
}

/// Compiles `source` (a C++ file with its own `main`) against `lib`'s verilated model and
/// runtime objects, with the same flags as the shim, into an executable cached next to the
/// library caches. Used by the benchmark for its plain C++ testbench.
pub fn build_executable(lib: &Library, name: &str, source: &str) -> Result<PathBuf, BuildError> {
    let tools = tools()?;
    let prefix = format!("V{}", lib.top());
    let mut h = KeyHasher::new("vsim-exe-1");
    h.str(lib.key());
    h.str(name);
    h.str(source);
    let key = h.finish();
    let root = lib.dir().parent().unwrap_or(lib.dir()).to_path_buf();
    let dir = root.join(format!("exe-{}", &key[..24]));
    let exe = dir.join(name);
    if exe.is_file() {
        return Ok(exe);
    }
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-exe-")
        .tempdir_in(&root)
        .map_err(|e| BuildError::io("cannot create a build directory in", &root, e))?;
    write_file(&tmp.path().join(format!("{name}.cpp")), source.as_bytes())?;
    // Verilator's make file gives the exact model flags; `-I obj` lets make find its includes
    // while the objects land in the temp dir, leaving the published cache untouched.
    let mut cmd = make_cmd(lib.verilator(), &tools, tmp.path(), &lib.obj_dir().join(format!("{prefix}.mk")));
    cmd.arg("-I")
        .arg(lib.obj_dir())
        .arg(format!("USER_CPPFLAGS=-I{}", lib.obj_dir().display()))
        .arg(format!("{name}.o"));
    let out = run(&mut cmd, "make")?;
    if !out.status.success() {
        return Err(BuildError::Compile {
            top: lib.top().into(),
            step: "testbench compile",
            status: out.status.to_string(),
            log: tail(&combined(&out), 60),
        });
    }
    let mut link = Command::new(lib.cxx());
    link.arg("-o")
        .arg(tmp.path().join(name))
        .arg(tmp.path().join(format!("{name}.o")))
        .arg(lib.model_archive())
        .args(lib.runtime_objects())
        .args(["-pthread", "-latomic"])
        .args(trace_libs(lib.verilator(), lib.trace_format()));
    let out = run(&mut link, "c++")?;
    if !out.status.success() {
        return Err(BuildError::Compile {
            top: lib.top().into(),
            step: "testbench link",
            status: out.status.to_string(),
            log: tail(&combined(&out), 60),
        });
    }
    let tmp_path = tmp.keep();
    if fs::rename(&tmp_path, &dir).is_err() {
        let _ = fs::remove_dir_all(&tmp_path);
        if !exe.is_file() {
            return Err(BuildError::Load { path: dir, detail: "cannot publish the testbench".into() });
        }
    }
    Ok(exe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_a_wide_top() {
        let h = "    VL_IN8(&ap_clk,0,0);\n    VL_IN8(&ap_rst_n,0,0);\n    VL_INW(&s_axis_tdata,129,0,5);\n\
                 VL_IN8(&s_axis_tvalid,0,0);\n VL_OUT8(&s_axis_tready,0,0);\n VL_OUT64(&m_axis_tdata,39,0);\n\
                 VL_OUT8(&m_axis_tvalid,0,0);\n VL_IN8(&m_axis_tready,0,0);\n VL_OUTW(&dbg_probes,95,0,3);\n";
        let ports = parse_ports(h);
        assert_eq!(ports.len(), 9);
        assert_eq!(check_ports("t", &ports).unwrap(), PortWidths { in_bits: 130, out_bits: 40, probe_words: 3 });
    }

    #[test]
    fn port_problems_are_named() {
        let base = "VL_IN8(&ap_clk,0,0);\nVL_IN8(&ap_rst_n,0,0);\nVL_IN(&s_axis_tdata,31,0);\nVL_IN8(&s_axis_tvalid,0,0);\n\
                    VL_OUT8(&s_axis_tready,0,0);\nVL_OUT(&m_axis_tdata,31,0);\nVL_OUT8(&m_axis_tvalid,0,0);\n";
        let e = check_ports("t", &parse_ports(base)).unwrap_err().to_string();
        assert!(e.contains("missing port(s) m_axis_tready"), "{e}");
        let e =
            check_ports("t", &parse_ports(&format!("{base}VL_IN8(&m_axis_tready,0,0);\nVL_OUT(&dbg_probes,19,0);\n")))
                .unwrap_err()
                .to_string();
        assert!(e.contains("dbg_probes is a 20-bit output"), "{e}");
        let e = check_ports("t", &parse_ports(&format!("{base}VL_IN8(&m_axis_tready,0,0);\nVL_IN8(&start,0,0);\n")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unexpected input port `start`"), "{e}");
        let e = check_ports("t", &parse_ports(&base.replace("VL_IN8(&ap_clk,0,0)", "VL_IN8(&ap_clk,1,0)")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`ap_clk` is 2 bits wide; it must be 1"), "{e}");
    }

    #[test]
    fn make_lists() {
        let mk = "VM_GLOBAL_FAST += \\\n\tverilated \\\n\tverilated_threads \\\n\nVM_GLOBAL_SLOW += \\\n\n";
        assert_eq!(make_list(mk, "VM_GLOBAL_FAST"), vec!["verilated", "verilated_threads"]);
        assert!(make_list(mk, "VM_GLOBAL_SLOW").is_empty());
        let mk = "VM_USER_CFLAGS = \\\n\t-fPIC \\\n\t-DX \\\n\n# comment\nVM_USER_LDLIBS = \\\n";
        assert_eq!(make_list(mk, "VM_USER_CFLAGS"), vec!["-fPIC", "-DX"]);
    }

    #[test]
    fn trace_format_follows_the_file_name() {
        assert_eq!(TraceFormat::from_path(Path::new("a/wave.fst")), Ok(TraceFormat::Fst));
        assert_eq!(TraceFormat::from_path(Path::new("WAVE.VCD")), Ok(TraceFormat::Vcd));
        let e = TraceFormat::from_path(Path::new("wave.ghw")).unwrap_err();
        assert!(e.contains("name the file *.fst") && e.contains("wave.ghw"), "{e}");
        assert!(TraceFormat::from_path(Path::new("wave")).is_err());
        assert_eq!(BuildSpec::new("t", ["x.sv"]).trace(true).trace, Some(TraceFormat::Vcd));
    }

    #[test]
    fn string_params_are_quoted_for_verilator() {
        assert_eq!(Param::Str("/abs/w.hex".into()).render(), "\"/abs/w.hex\"");
        assert_eq!(Param::Int(-3).render(), "-3");
        let spec = BuildSpec::new("t", ["x.sv"]).param_str("F", "a\"b");
        assert!(spec.check().unwrap_err().to_string().contains("contains a quote"));
    }
}
