// gpu_check.cu - functional check and bounded burn-in of every CUDA GPU of a node.
//
// Build (CUDA >= 11.0 runtime API, plain C++14 host code; RTX 3090 = sm_86, H100/H200 = sm_90):
//   nvcc -O2 -std=c++14 -gencode arch=compute_86,code=sm_86 -gencode arch=compute_90,code=sm_90
//        -gencode arch=compute_80,code=compute_80 -o gpu_check gpu_check.cu
//
// Usage:
//   gpu_check [--device N]                    per device: properties, then a SAXPY on 1 Mi floats
//                                             (cudaMalloc'd, never managed memory) checked element by element
//   gpu_check --stress SECONDS [--device N]   as above, then an FMA burn of SECONDS (capped at 3600) on all
//                                             selected GPUs CONCURRENTLY (one host thread, one stream per GPU)
//   gpu_check --help
//
// Exit codes: 0 every device PASS, 1 some device FAIL (or a CUDA error), 2 usage error,
//             3 SKIP: no NVIDIA driver device (/dev/nvidiactl absent) and no GPU found. Where the driver's
//             device node exists, a failing cudaGetDeviceCount (driver too old for this runtime, a
//             driver/library mismatch, a GPU off the bus) or a count of 0 is a FAIL. Never PASS when nothing ran.
//
// Output: JSON Lines on stdout (usage text goes to stdout for --help, stderr for errors), one object per line:
//   {"event":"device","index":0,"name":"NVIDIA GeForce RTX 3090","cc":"8.6","bus_id":"0000:01:00.0","mem_mib":24259,"sms":82}
//   {"event":"result","index":0,"test":"saxpy","verdict":"PASS","elements":1048576,"mismatches":0,"max_abs_err":0,"ms":0.052}
//   {"event":"stress","index":0,"seconds":60.01,"iterations":51234,"gflops":31250.4,"errors":0,"verdict":"PASS"}
//   {"event":"error","index":0,"call":"cudaMalloc(&x, bytes)","error":"out of memory","code":"cudaErrorMemoryAllocation"}
//   {"event":"summary","mode":"check","devices":4,"passed":4,"verdict":"PASS"}
//   {"event":"summary","devices":0,"verdict":"SKIP","reason":"no CUDA-capable device is detected (cudaErrorNoDevice)"}
// A device passes only if all its tests ran and matched. All arithmetic is deterministic: the device uses
// explicitly rounded intrinsics (__fmaf_rn) and the host std::fma, so results must match bit for bit.
// "iterations" counts timed burn kernel launches, each N_BURN*CHAINS*INNER FMAs (2 flops each); every launch
// compares each result with a golden copy, which itself was checked on the host on a sample of elements;
// "errors" = mismatching elements summed over all launches (plus host-sample mismatches of the golden copy).
// Temperatures and throttling are for the caller to sample (nvidia-smi); this program links no NVML.
#include <cuda_runtime.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static const int N_SAXPY = 1 << 20, N_BURN = 1 << 20, INNER = 4096, CHAINS = 4, THREADS = 256;
static const float SAXPY_A = 2.5f, BURN_M = 0.9990234375f;  // 1 - 2^-10: the FMA chains stay bounded
static const double MAX_SECONDS = 3600.0, BATCH_TARGET_MS = 50.0;

static std::string jstr(const char *s) {  // JSON string literal; bytes outside printable ASCII become \u00XX
  std::string o = "\"";
  for (const unsigned char *p = reinterpret_cast<const unsigned char *>(s); *p; ++p) {
    if (*p == '"' || *p == '\\') { o += '\\'; o += static_cast<char>(*p); }
    else if (*p < 0x20 || *p >= 0x7f) { char b[8]; snprintf(b, sizeof b, "\\u%04x", *p); o += b; }
    else o += static_cast<char>(*p);
  }
  return o + "\"";
}
static std::string jnum(double v, const char *fmt = "%.6g") {  // JSON has no NaN/Infinity
  if (!std::isfinite(v)) return "null";
  char b[64]; snprintf(b, sizeof b, fmt, v); return b;
}
static void emit(const std::string &line) { fputs(line.c_str(), stdout); fputc('\n', stdout); fflush(stdout); }

static bool check(cudaError_t e, int dev, const char *call) {
  if (e == cudaSuccess) return true;
  emit("{\"event\":\"error\",\"index\":" + std::to_string(dev) + ",\"call\":" + jstr(call) + ",\"error\":" +
       jstr(cudaGetErrorString(e)) + ",\"code\":" + jstr(cudaGetErrorName(e)) + "}");
  return false;
}
#define CK(dev, call) check((call), (dev), #call)

// ---- kernels (explicit _rn intrinsics: no contraction or fast-math can change the results) ----
__global__ void saxpy(int n, float a, const float *x, float *y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = __fmaf_rn(a, x[i], y[i]);
}
__host__ __device__ inline float fma_rn(float a, float b, float c) {
#ifdef __CUDA_ARCH__
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);  // correctly rounded like the GPU's FMA
#endif
}
__host__ __device__ inline float burn_one(float s, int inner) {  // CHAINS independent FMA chains (ILP)
  float c0 = fma_rn(s, 0.5f, 0.25f), c1 = fma_rn(s, -0.5f, 0.5f), c2 = fma_rn(s, 0.25f, -0.125f), c3 = s;
  for (int k = 0; k < inner; ++k) {
    c0 = fma_rn(c0, BURN_M, 0.0009765625f); c1 = fma_rn(c1, BURN_M, -0.00048828125f);
    c2 = fma_rn(c2, BURN_M, 0.001953125f);  c3 = fma_rn(c3, BURN_M, 0.000732421875f);
  }
  return fma_rn(c0, 1.0f, c1) + fma_rn(c2, 1.0f, c3);  // the same two-step sum on host and device
}
// write != 0: store the golden result; else compare with it and count every bitwise difference.
__global__ void burn(int n, int inner, const float *seed, float *golden, unsigned *errs, int write) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float r = burn_one(seed[i], inner);
  if (write) golden[i] = r;
  else if (__float_as_uint(r) != __float_as_uint(golden[i])) atomicAdd(errs, 1u);
}
static cudaError_t launch_saxpy(int n, float a, const float *x, float *y) {
  saxpy<<<(n + THREADS - 1) / THREADS, THREADS>>>(n, a, x, y);
  return cudaGetLastError();
}
static cudaError_t launch_burn(cudaStream_t st, const float *seed, float *gold, unsigned *errs, int write) {
  burn<<<(N_BURN + THREADS - 1) / THREADS, THREADS, 0, st>>>(N_BURN, INNER, seed, gold, errs, write);
  return cudaGetLastError();
}
static float pattern(int i) { return static_cast<float>((static_cast<unsigned>(i) * 2654435761u) >> 12) * (1.0f / 1048576.0f); }

// ---- per-device functional test ----
static bool describe(int d) {
  cudaDeviceProp p;
  char bus[32] = "";
  if (!CK(d, cudaGetDeviceProperties(&p, d)) || !CK(d, cudaDeviceGetPCIBusId(bus, sizeof bus, d))) return false;
  emit("{\"event\":\"device\",\"index\":" + std::to_string(d) + ",\"name\":" + jstr(p.name) + ",\"cc\":\"" +
       std::to_string(p.major) + "." + std::to_string(p.minor) + "\",\"bus_id\":" + jstr(bus) +
       ",\"mem_mib\":" + std::to_string(p.totalGlobalMem >> 20) + ",\"sms\":" + std::to_string(p.multiProcessorCount) + "}");
  return true;
}

static bool saxpy_test(int d) {
  const int n = N_SAXPY;
  const size_t bytes = n * sizeof(float);
  std::vector<float> hx(n), hy(n), out(n);
  for (int i = 0; i < n; ++i) { hx[i] = pattern(i); hy[i] = pattern(n - i) - 0.5f; }
  float *x = nullptr, *y = nullptr, ms = -1.0f;
  cudaEvent_t e0 = nullptr, e1 = nullptr;
  bool ok = CK(d, cudaMalloc(&x, bytes)) && CK(d, cudaMalloc(&y, bytes)) && CK(d, cudaEventCreate(&e0)) &&
            CK(d, cudaEventCreate(&e1)) && CK(d, cudaMemcpy(x, hx.data(), bytes, cudaMemcpyHostToDevice)) &&
            CK(d, cudaMemcpy(y, hy.data(), bytes, cudaMemcpyHostToDevice)) && CK(d, cudaEventRecord(e0)) &&
            CK(d, launch_saxpy(n, SAXPY_A, x, y)) && CK(d, cudaEventRecord(e1)) &&
            CK(d, cudaMemcpy(out.data(), y, bytes, cudaMemcpyDeviceToHost)) && CK(d, cudaEventElapsedTime(&ms, e0, e1));
  long mismatches = 0;
  double max_err = 0.0;
  if (ok) {
    for (int i = 0; i < n; ++i) {
      float want = std::fma(SAXPY_A, hx[i], hy[i]);
      double err = std::fabs(static_cast<double>(out[i]) - want);
      if (memcmp(&out[i], &want, sizeof want) != 0) { ++mismatches; if (std::isnan(err) || err > max_err) max_err = err; }
    }
  }
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  if (x) cudaFree(x);
  if (y) cudaFree(y);
  ok = ok && mismatches == 0;
  emit("{\"event\":\"result\",\"index\":" + std::to_string(d) + ",\"test\":\"saxpy\",\"verdict\":\"" +
       (ok ? "PASS" : "FAIL") + "\",\"elements\":" + std::to_string(n) + ",\"mismatches\":" + std::to_string(mismatches) +
       ",\"max_abs_err\":" + jnum(max_err) + ",\"ms\":" + jnum(ms, "%.3f") + "}");
  return ok;
}

// ---- stress: all devices concurrently from one host thread, one stream per device ----
struct Burner {
  int dev = 0, batch = 1;
  bool ok = true;
  float *seed = nullptr, *gold = nullptr;
  unsigned *errs = nullptr;
  cudaStream_t st = nullptr;
  cudaEvent_t done = nullptr, t0 = nullptr;
  long long iters = 0;
  unsigned long long errors = 0;
};

static bool burn_setup(Burner &b) {  // golden run, host check of a sample, then time one launch for batching
  const int d = b.dev;
  const size_t bytes = N_BURN * sizeof(float);
  std::vector<float> hs(N_BURN), hg(N_BURN);
  for (int i = 0; i < N_BURN; ++i) hs[i] = pattern(i);
  float ms = 0.0f;
  if (!(CK(d, cudaSetDevice(d)) && CK(d, cudaStreamCreateWithFlags(&b.st, cudaStreamNonBlocking)) &&
        CK(d, cudaEventCreate(&b.done)) && CK(d, cudaEventCreate(&b.t0)) && CK(d, cudaMalloc(&b.seed, bytes)) &&
        CK(d, cudaMalloc(&b.gold, bytes)) && CK(d, cudaMalloc(&b.errs, sizeof(unsigned))) &&
        CK(d, cudaMemsetAsync(b.errs, 0, sizeof(unsigned), b.st)) &&
        CK(d, cudaMemcpyAsync(b.seed, hs.data(), bytes, cudaMemcpyHostToDevice, b.st)) &&
        CK(d, launch_burn(b.st, b.seed, b.gold, b.errs, 1)) &&
        CK(d, cudaMemcpyAsync(hg.data(), b.gold, bytes, cudaMemcpyDeviceToHost, b.st)) &&
        CK(d, cudaEventRecord(b.t0, b.st)) && CK(d, launch_burn(b.st, b.seed, b.gold, b.errs, 0)) &&
        CK(d, cudaEventRecord(b.done, b.st)) && CK(d, cudaEventSynchronize(b.done)) &&
        CK(d, cudaEventElapsedTime(&ms, b.t0, b.done))))
    return false;
  for (int i = 0; i < N_BURN; i += 1021) {  // ~1000 elements: host FMA chains are slow, the GPU checks the rest
    float want = burn_one(hs[i], INNER);
    if (memcmp(&want, &hg[i], sizeof want) != 0) ++b.errors;
  }
  b.batch = ms > 0.0f ? static_cast<int>(BATCH_TARGET_MS / ms) : 64;
  b.batch = b.batch < 1 ? 1 : (b.batch > 512 ? 512 : b.batch);  // bounded queue depth per device
  return true;
}

static int run_stress(const std::vector<int> &devs, bool *passed, double seconds) {
  const double flops_per_launch = 2.0 * N_BURN * CHAINS * static_cast<double>(INNER);
  std::vector<Burner> bs(devs.size());
  for (size_t k = 0; k < devs.size(); ++k) {  // a device that failed its check is not burnt: FAIL
    bs[k].dev = devs[k];
    bs[k].ok = passed[k] && burn_setup(bs[k]);
  }
  typedef std::chrono::steady_clock Clock;
  const Clock::time_point start = Clock::now();
  double elapsed = 0.0;
  for (bool any = true; any && elapsed < seconds;) {
    for (size_t k = 0; k < bs.size(); ++k) {  // queue one batch on every device, then wait for all of them
      Burner &b = bs[k];
      if (!b.ok) continue;
      b.ok = CK(b.dev, cudaSetDevice(b.dev));
      for (int j = 0; b.ok && j < b.batch; ++j) b.ok = CK(b.dev, launch_burn(b.st, b.seed, b.gold, b.errs, 0));
      b.ok = b.ok && CK(b.dev, cudaEventRecord(b.done, b.st));
    }
    any = false;
    for (size_t k = 0; k < bs.size(); ++k) {
      Burner &b = bs[k];
      if (!b.ok) continue;
      b.ok = CK(b.dev, cudaSetDevice(b.dev)) && CK(b.dev, cudaEventSynchronize(b.done));
      if (b.ok) { b.iters += b.batch; any = true; }
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  int failed = 0;
  for (size_t k = 0; k < bs.size(); ++k) {
    Burner &b = bs[k];
    unsigned gpu_errs = 0;
    b.ok = b.ok && CK(b.dev, cudaSetDevice(b.dev)) &&
           CK(b.dev, cudaMemcpy(&gpu_errs, b.errs, sizeof gpu_errs, cudaMemcpyDeviceToHost));
    b.errors += gpu_errs;
    const bool pass = b.ok && b.errors == 0;
    if (!pass) { passed[k] = false; ++failed; }
    emit("{\"event\":\"stress\",\"index\":" + std::to_string(b.dev) + ",\"seconds\":" + jnum(elapsed, "%.2f") +
         ",\"iterations\":" + std::to_string(b.iters) + ",\"gflops\":" +
         jnum(b.ok && elapsed > 0 ? b.iters * flops_per_launch / elapsed / 1e9 : 0.0, "%.1f") +
         ",\"errors\":" + std::to_string(b.errors) + ",\"verdict\":\"" + (pass ? "PASS" : "FAIL") + "\"}");
    cudaSetDevice(b.dev);  // best effort cleanup; errors here were reported above
    if (b.seed) cudaFree(b.seed);
    if (b.gold) cudaFree(b.gold);
    if (b.errs) cudaFree(b.errs);
    if (b.done) cudaEventDestroy(b.done);
    if (b.t0) cudaEventDestroy(b.t0);
    if (b.st) cudaStreamDestroy(b.st);
  }
  return failed;
}

static void usage(FILE *f) {
  fputs("usage: gpu_check [--device N] [--stress SECONDS] | --help\n"
        "  (no option)       per GPU: properties + SAXPY check, JSON Lines on stdout\n"
        "  --stress SECONDS  additionally an FMA burn of SECONDS (max 3600) on all GPUs concurrently\n"
        "  --device N        only GPU N\n"
        "exit: 0 all PASS, 1 some FAIL, 2 usage error, 3 SKIP (no usable GPU)\n", f);
}

int main(int argc, char **argv) {
  double seconds = -1.0;
  long only = -1;
  for (int i = 1; i < argc; ++i) {
    char *end = nullptr;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
    if (!strcmp(argv[i], "--stress") && i + 1 < argc) {
      seconds = strtod(argv[++i], &end);
      if (*end || end == argv[i] || !std::isfinite(seconds) || seconds <= 0) { usage(stderr); return 2; }
      if (seconds > MAX_SECONDS) seconds = MAX_SECONDS;
    } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
      only = strtol(argv[++i], &end, 10);
      if (*end || end == argv[i] || only < 0) { usage(stderr); return 2; }
    } else { usage(stderr); return 2; }
  }
  const char *mode = seconds > 0 ? "stress" : "check";
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count <= 0) {
    std::string reason = e != cudaSuccess ? std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")"
                                          : std::string("cudaGetDeviceCount found no device");
    // With the driver's control node present, CUDA should see the GPUs: not seeing them is a fault.
    const bool driver = access("/dev/nvidiactl", F_OK) == 0;
    const char *verdict = driver ? "FAIL" : "SKIP";
    if (driver) reason += "; /dev/nvidiactl exists, so the driver is loaded";
    emit("{\"event\":\"summary\",\"devices\":0,\"verdict\":\"" + std::string(verdict) + "\",\"reason\":" +
         jstr(reason.c_str()) + "}");
    return driver ? 1 : 3;
  }
  if (only >= count) {
    emit("{\"event\":\"error\",\"index\":" + std::to_string(only) + ",\"call\":\"--device\",\"error\":" +
         jstr(("no such device; count is " + std::to_string(count)).c_str()) + ",\"code\":\"usage\"}");
    return 2;
  }
  std::vector<int> devs;
  for (int d = 0; d < count; ++d)
    if (only < 0 || d == only) devs.push_back(d);
  bool passed[64];  // more GPUs than this in one node would be news
  if (devs.size() > 64) devs.resize(64);
  for (size_t k = 0; k < devs.size(); ++k) {
    const int d = devs[k];
    passed[k] = describe(d) && CK(d, cudaSetDevice(d)) && saxpy_test(d);
  }
  if (seconds > 0) run_stress(devs, passed, seconds);
  int n_pass = 0;
  for (size_t k = 0; k < devs.size(); ++k) n_pass += passed[k] ? 1 : 0;
  const bool all = n_pass == static_cast<int>(devs.size());
  emit(std::string("{\"event\":\"summary\",\"mode\":\"") + mode + "\",\"devices\":" + std::to_string(devs.size()) +
       ",\"passed\":" + std::to_string(n_pass) + ",\"verdict\":\"" + (all ? "PASS" : "FAIL") + "\"}");
  return all ? 0 : 1;
}
