// GptOnDevice: fills the plain GPU engine description (src/cuda/nn/) from a
// Gpt<float> and moves parameters and gradients in parameters() order.
#include "lowrank/nn/gpu.hpp"

#include <cmath>

#include "cuda/nn/gpt_device.hpp"
#include "cuda/nn/gpt_engine.hpp"
#include "cuda/nn/host_backend.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/cuda/device.hpp"

namespace lowrank::cuda {
std::unique_ptr<GptDevice> make_gpt_host_emulation(const GptDeviceConfig& config) {
  return std::make_unique<GptEngine<HostBackend>>(config);
}
}  // namespace lowrank::cuda

namespace lowrank::nn {

namespace {

cuda::GptDeviceLinear describe(const Linear<float>& l) {
  if (l.spec().bias) throw InvalidArgument("the GPU engine has no biased projections (the Gpt has none by default)");
  cuda::GptDeviceLinear d;
  d.in = l.in();
  d.out = l.out();
  switch (l.spec().kind) {
    case Parameterization::Dense:
    case Parameterization::GaLore:
      d.kind = cuda::GptDeviceLinear::Dense;
      break;
    case Parameterization::LowRank:
      d.kind = cuda::GptDeviceLinear::LowRank;
      break;
    case Parameterization::SLTrain:
      d.kind = cuda::GptDeviceLinear::SLTrain;
      d.support = l.support;
      break;
  }
  if (d.kind != cuda::GptDeviceLinear::Dense) {
    d.rank = l.spec().rank;
    d.scale = l.scale();
  }
  return d;
}

cuda::GptDeviceConfig describe(Gpt<float>& m) {
  const GptConfig& c = m.config();
  cuda::GptDeviceConfig d;
  d.vocab = c.vocab;
  d.context = c.context;
  d.n_layer = c.n_layer;
  d.n_head = c.n_head;
  d.width = c.width;
  d.hidden = c.hidden_size();
  d.norm_eps = static_cast<float>(c.norm_eps);
  // The same angles as the CPU's rope_apply: pos * theta^(-2i/D) in double.
  const Index D = c.width / c.n_head;
  for (Index pos = 0; pos < c.context; ++pos)
    for (Index i = 0; i < D / 2; ++i) {
      const double freq = std::pow(c.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(D));
      const double ang = static_cast<double>(pos) * freq;
      d.rope_cos.push_back(static_cast<float>(std::cos(ang)));
      d.rope_sin.push_back(static_cast<float>(std::sin(ang)));
    }
  for (Linear<float>* l : m.linears()) d.linears.push_back(describe(*l));
  return d;
}

std::vector<cuda::HostTensor> tensors(Gpt<float>& m, bool grads) {
  std::vector<cuda::HostTensor> t;
  for (auto& p : m.parameters()) {
    Act<float>* a = grads ? p.grad : p.value;
    t.push_back({a->data(), static_cast<std::size_t>(a->size())});
  }
  return t;
}

}  // namespace

bool gpu_training_available() noexcept { return cuda::built_with_cuda() && cuda::device_count() > 0; }

GptOnDevice::GptOnDevice(Gpt<float>& host, GpuBackend backend)
    : m_host(&host),
      m_dev(backend == GpuBackend::Cuda ? cuda::make_gpt_device(describe(host))
                                        : cuda::make_gpt_host_emulation(describe(host))) {
  upload_parameters();
}

GptOnDevice::~GptOnDevice() = default;

void GptOnDevice::upload_parameters() { m_dev->upload_parameters(tensors(*m_host, false)); }

double GptOnDevice::forward(const std::vector<std::int32_t>& tokens, const std::vector<std::int32_t>& targets, Index B,
                            Index T_) {
  if (static_cast<Index>(tokens.size()) != B * T_) throw InvalidArgument("tokens must have B*T entries");
  if (!targets.empty() && targets.size() != tokens.size())
    throw InvalidArgument("targets must be empty or have B*T entries");
  m_rows = B * T_;
  return m_dev->forward(tokens.data(), targets.empty() ? nullptr : targets.data(), B, T_);
}

void GptOnDevice::backward() { m_dev->backward(); }
void GptOnDevice::zero_grad() { m_dev->zero_grad(); }
void GptOnDevice::download_gradients() { m_dev->download_gradients(tensors(*m_host, true)); }

Act<float> GptOnDevice::logits() const {
  Act<float> out(m_rows, m_host->config().vocab);
  m_dev->download_logits(out.data());
  return out;
}

std::size_t GptOnDevice::device_bytes() const { return m_dev->device_bytes(); }

Act<float> GptOnDevice::decode(const std::vector<std::int32_t>& tokens) {
  if (tokens.empty()) throw InvalidArgument("GptOnDevice::decode: no tokens");
  const auto n = static_cast<Index>(tokens.size());
  Act<float> out(n, m_host->config().vocab);
  m_dev->decode(tokens.data(), 1, n, true, out.data());
  return out;
}

Act<float> GptOnDevice::decode_branches(const std::vector<std::int32_t>& tokens, Index B, Index L) {
  if (B < 1 || L < 1 || static_cast<Index>(tokens.size()) != B * L)
    throw InvalidArgument("GptOnDevice::decode_branches: expected B*L = " + std::to_string(B * L) +
                          " >= 1 tokens, got " + std::to_string(tokens.size()));
  Act<float> out(B * L, m_host->config().vocab);
  m_dev->decode(tokens.data(), B, L, false, out.data());
  return out;
}

std::unique_ptr<GptOnDevice> open_gpt_device(Gpt<float>& host, const std::string& device) {
  if (device == "cuda") {
    if (!cuda::built_with_cuda())
      throw InvalidArgument("device cuda: this lowrank was built without CUDA (reconfigure with -DLOWRANK_CUDA=ON)");
    if (cuda::device_count() == 0) throw InvalidArgument("device cuda: no CUDA device found");
    return std::make_unique<GptOnDevice>(host);
  }
  if (device == "cuda-emulated") return std::make_unique<GptOnDevice>(host, GpuBackend::HostEmulation);
  if (device != "cpu") throw InvalidArgument("device must be cpu or cuda (got '" + device + "')");
  return nullptr;
}

void GptOnDevice::reset_cache() { m_dev->reset_cache(); }
Index GptOnDevice::cache_length() const { return m_dev->cache_length(); }

}  // namespace lowrank::nn
