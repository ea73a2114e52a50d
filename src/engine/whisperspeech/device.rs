//! Device selection (`--device`, `render.device`): `auto`, `cpu`, `cuda` or `cuda:N`, probed for real.
//!
//! `candle_core::utils::cuda_is_available()` only says the crate was built with CUDA, so a CUDA device is
//! always opened to be known. Asking for CUDA where there is none is an error that names what is missing (the
//! CUDA build, the driver, a visible GPU), never a silent CPU run: in a CUDA build `auto` means the GPU and
//! fails like `cuda` when device 0 does not open; in a CPU build `auto` is the CPU.

use candle_core::Device;

use crate::engine::EngineError;

/// A parsed device name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The GPU in a CUDA build, the CPU in a CPU build.
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N (`cuda` is `cuda:0`).
    Cuda(usize),
}

impl DeviceSpec {
    /// Parses `auto`, `cpu`, `cuda` or `cuda:N`.
    pub fn parse(spec: &str) -> Result<Self, EngineError> {
        match spec {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            s => match s.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => Ok(Self::Cuda(n)),
                None => Err(EngineError::Unavailable(format!(
                    "unknown device `{s}`; use auto, cpu, cuda or cuda:N"
                ))),
            },
        }
    }
}

/// Whether this binary was built with the `cuda` feature.
pub const CUDA_BUILD: bool = cfg!(feature = "cuda");

/// Opens the device named by `spec` (see the module documentation).
pub fn select_device(spec: &str) -> Result<Device, EngineError> {
    match DeviceSpec::parse(spec)? {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Auto if !CUDA_BUILD => Ok(Device::Cpu),
        DeviceSpec::Auto => open_cuda(spec, 0),
        DeviceSpec::Cuda(n) => open_cuda(spec, n),
    }
}

/// CUDA device `n`, or the message saying what is missing.
fn open_cuda(spec: &str, n: usize) -> Result<Device, EngineError> {
    if !CUDA_BUILD {
        return Err(EngineError::Unavailable(no_cuda_build(spec)));
    }
    Device::new_cuda(n).map_err(|e| EngineError::Unavailable(cuda_failure(spec, n, &e.to_string())))
}

/// The message for a CUDA device asked of a build without the `cuda` feature.
pub fn no_cuda_build(spec: &str) -> String {
    format!(
        "device `{spec}`: this ws-book build has no CUDA support; install the CUDA build (README \
         \"GPU (CUDA) build\": `cargo build --release --no-default-features --features cuda`) or use --device cpu"
    )
}

/// The message for CUDA device `n` that did not open with driver error `err`: the error, what it means is
/// missing, and the way to the CPU (a CUDA build never falls back to it by itself).
pub fn cuda_failure(spec: &str, n: usize, err: &str) -> String {
    let missing = if err.contains("CUDA_ERROR_STUB_LIBRARY") {
        "the libcuda.so.1 found is the CUDA toolkit's link stub, not the NVIDIA driver: install the driver \
         (≥ 580 for CUDA 13) or take the stub folder off LD_LIBRARY_PATH"
            .to_string()
    } else if err.contains("CUDA_ERROR_NO_DEVICE") {
        "the NVIDIA driver sees no GPU (check `nvidia-smi` and CUDA_VISIBLE_DEVICES)".to_string()
    } else if err.contains("CUDA_ERROR_INSUFFICIENT_DRIVER") || err.contains("CUDA_ERROR_COMPAT_NOT_SUPPORTED") {
        "the NVIDIA driver is older than this CUDA 13 build needs (≥ 580; `nvidia-smi` shows it)".to_string()
    } else if err.contains("CUDA_ERROR_INVALID_DEVICE") {
        format!("there is no GPU number {n} (`nvidia-smi -L` lists them, numbered from 0)")
    } else if err.contains("CUDA_ERROR_NOT_INITIALIZED") || err.contains("CUDA_ERROR_NO_DRIVER") {
        "no working NVIDIA driver (libcuda.so.1) on this machine".to_string()
    } else {
        "a GPU with the NVIDIA driver (≥ 580 for CUDA 13) is needed".to_string()
    };
    format!("device `{spec}`: CUDA device {n} did not open ({err}): {missing}; use --device cpu to run on the CPU")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_ones_are_refused_with_the_choices() {
        assert_eq!(DeviceSpec::parse("auto").unwrap(), DeviceSpec::Auto);
        assert_eq!(DeviceSpec::parse("cpu").unwrap(), DeviceSpec::Cpu);
        assert_eq!(DeviceSpec::parse("cuda").unwrap(), DeviceSpec::Cuda(0));
        assert_eq!(DeviceSpec::parse("cuda:3").unwrap(), DeviceSpec::Cuda(3));
        for bad in ["gpu", "cuda:", "cuda:x", "CUDA", "cuda:-1"] {
            let e = DeviceSpec::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains(&format!("`{bad}`")) && e.contains("auto, cpu, cuda or cuda:N"),
                "{e}"
            );
        }
    }

    #[test]
    fn driver_errors_name_what_is_missing() {
        let stub = cuda_failure("auto", 0, "DriverError(CUDA_ERROR_STUB_LIBRARY, \"<Failure>\")");
        assert!(stub.starts_with("device `auto`: CUDA device 0 did not open"), "{stub}");
        assert!(
            stub.contains("link stub, not the NVIDIA driver") && stub.contains("--device cpu"),
            "{stub}"
        );
        let none = cuda_failure(
            "cuda",
            0,
            "DriverError(CUDA_ERROR_NO_DEVICE, \"no CUDA-capable device\")",
        );
        assert!(none.contains("sees no GPU"), "{none}");
        let old = cuda_failure("cuda", 0, "DriverError(CUDA_ERROR_INSUFFICIENT_DRIVER, \"\")");
        assert!(old.contains("older than this CUDA 13 build needs"), "{old}");
        let n = cuda_failure(
            "cuda:7",
            7,
            "DriverError(CUDA_ERROR_INVALID_DEVICE, \"invalid device ordinal\")",
        );
        assert!(n.contains("no GPU number 7"), "{n}");
        let other = cuda_failure("cuda", 0, "something else");
        assert!(other.contains("(something else)") && other.contains("≥ 580"), "{other}");
    }

    #[test]
    fn the_cpu_opens_everywhere_and_auto_is_the_cpu_only_in_a_cpu_build() {
        assert!(select_device("cpu").unwrap().is_cpu());
        if !CUDA_BUILD {
            assert!(select_device("auto").unwrap().is_cpu());
            let e = select_device("cuda:1").unwrap_err().to_string();
            assert_eq!(e, no_cuda_build("cuda:1"));
        }
    }
}
