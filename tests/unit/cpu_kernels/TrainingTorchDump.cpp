// Runs the training kernels on seeded random inputs and writes inputs and
// outputs to a directory (NAME.bin raw little-endian data, listed in
// manifest.txt as "NAME f32|i32 dim..."), for training_torch_check.py to
// compare against PyTorch autograd and torch.optim.AdamW.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "RandomData.h"
#include "ThreadPool.h"
#include "TrainingKernels.h"

using namespace lathe::cpu;

namespace {

class Dump {
public:
  explicit Dump(std::string dir) : dir_(std::move(dir)) {
    manifest_ = std::fopen((dir_ + "/manifest.txt").c_str(), "w");
    if (manifest_ == nullptr) throw std::runtime_error("cannot write " + dir_ + "/manifest.txt");
  }
  ~Dump() { std::fclose(manifest_); }
  template <class T>
  void write(const std::string& name, const std::vector<T>& data, const std::vector<int64_t>& dims) {
    std::FILE* f = std::fopen((dir_ + "/" + name + ".bin").c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("cannot write " + dir_ + "/" + name + ".bin");
    std::fwrite(data.data(), sizeof(T), data.size(), f);
    std::fclose(f);
    std::fprintf(manifest_, "%s %s", name.c_str(), sizeof(T) == 4 && std::is_integral<T>::value ? "i32" : "f32");
    for (int64_t d : dims) std::fprintf(manifest_, " %lld", static_cast<long long>(d));
    std::fprintf(manifest_, "\n");
  }

private:
  std::string dir_;
  std::FILE* manifest_;
};

void dumpAttention(ThreadPool& pool, Dump& dump) {
  const int64_t B = 2, T = 37, H = 4, Hkv = 2, D = 13;
  auto q = randomVector(B * T * H * D, 1, -2, 2), k = randomVector(B * T * Hkv * D, 2, -2, 2);
  auto v = randomVector(B * T * Hkv * D, 3), dout = randomVector(B * T * H * D, 4);
  std::vector<float> out(q.size()), lse(B * H * T), dq(q.size()), dk(k.size()), dv(v.size());
  AttentionBackwardArgs g;
  AttentionArgs& a = g.forward;
  a.B = B, a.T = T, a.H = H, a.Hkv = Hkv, a.D = D, a.scale = 1.0f / std::sqrt(float(D));
  a.q = q.data(), a.q_row_stride = H * D, a.k = k.data(), a.k_row_stride = Hkv * D;
  a.v = v.data(), a.v_row_stride = Hkv * D, a.out = out.data(), a.out_row_stride = H * D;
  attentionForward(pool, a, lse.data());
  g.lse = lse.data(), g.dout = dout.data(), g.dout_row_stride = H * D;
  g.dq = dq.data(), g.dq_row_stride = H * D, g.dk = dk.data(), g.dk_row_stride = Hkv * D;
  g.dv = dv.data(), g.dv_row_stride = Hkv * D;
  attentionBackward(pool, g);
  for (auto [name, data, heads] : {std::make_tuple("attn_q", &q, H), std::make_tuple("attn_k", &k, Hkv),
                                   std::make_tuple("attn_v", &v, Hkv), std::make_tuple("attn_dout", &dout, H),
                                   std::make_tuple("attn_out", &out, H), std::make_tuple("attn_dq", &dq, H),
                                   std::make_tuple("attn_dk", &dk, Hkv), std::make_tuple("attn_dv", &dv, Hkv)})
    dump.write(name, *data, {B, T, heads, D});
}

void dumpNorms(ThreadPool& pool, Dump& dump) {
  const int64_t rows = 5, C = 33;
  auto x = randomVector(rows * C, 10, -2, 3), w = randomVector(C, 11), b = randomVector(C, 12);
  auto dy = randomVector(rows * C, 13);
  std::vector<float> y(rows * C), mean(rows), rstd(rows), dx(rows * C), dw(C), db(C);
  layerNormForward(pool, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, C, 1e-5f);
  layerNormBackward(pool, dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(), dw.data(), db.data(),
                    rows, C);
  dump.write("norm_x", x, {rows, C});
  dump.write("norm_w", w, {C});
  dump.write("norm_b", b, {C});
  dump.write("norm_dy", dy, {rows, C});
  dump.write("ln_dx", dx, {rows, C});
  dump.write("ln_dw", dw, {C});
  dump.write("ln_db", db, {C});
  std::fill(dx.begin(), dx.end(), 0.0f);
  std::fill(dw.begin(), dw.end(), 0.0f);
  rmsNormForward(pool, x.data(), w.data(), y.data(), rstd.data(), rows, C, 1e-6f);
  rmsNormBackward(pool, dy.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), rows, C);
  dump.write("rms_dx", dx, {rows, C});
  dump.write("rms_dw", dw, {C});
}

void dumpActivations(ThreadPool& pool, Dump& dump) {
  const int64_t n = 4001;
  auto x = randomVector(n, 20, -8, 8), dy = randomVector(n, 21);
  dump.write("act_x", x, {n});
  dump.write("act_dy", dy, {n});
  for (auto [name, act] : {std::make_pair("gelu", Act::Gelu), std::make_pair("gelu_tanh", Act::GeluTanh),
                           std::make_pair("silu", Act::Silu), std::make_pair("relu", Act::Relu)}) {
    std::vector<float> dx(n);
    unaryBackward(pool, act, x.data(), dy.data(), dx.data(), n);
    dump.write(std::string("act_dx_") + name, dx, {n});
  }
}

void dumpCrossEntropy(ThreadPool& pool, Dump& dump) {
  const int64_t rows = 6, V = 1001;
  auto logits = randomVector(rows * V, 30, -6, 6);
  std::vector<int32_t> targets = {5, -100, 1000, 0, 77, -100};
  dump.write("ce_logits", logits, {rows, V});
  dump.write("ce_targets", targets, {rows});
  std::vector<float> losses(rows), lse(rows);
  CrossEntropyArgs args;
  args.rows = rows, args.V = V, args.logits = logits.data(), args.ld = V, args.targets = targets.data();
  args.losses = losses.data(), args.lse = lse.data();
  const CrossEntropyLoss loss = crossEntropyForwardBackward(pool, args, 1.0f / 4.0f);
  dump.write("ce_mean", std::vector<float>{loss.mean}, {1});
  dump.write("ce_dlogits", logits, {rows, V});
}

void dumpAdamW(ThreadPool& pool, Dump& dump) {
  const int64_t n = 1000, steps = 3;
  auto param = randomVector(n, 40);
  dump.write("adamw_p0", param, {n});
  std::vector<float> m(n), v(n), grads;
  AdamWArgs args;
  args.param = param.data(), args.m = m.data(), args.v = v.data(), args.n = n;
  args.lr = 1e-2f, args.beta1 = 0.9f, args.beta2 = 0.95f, args.eps = 1e-8f, args.weight_decay = 0.1f;
  for (int64_t t = 1; t <= steps; ++t) {
    auto g = randomVector(n, 40 + uint32_t(t));
    grads.insert(grads.end(), g.begin(), g.end());
    args.grad = g.data(), args.step = t;
    adamw(pool, args);
  }
  dump.write("adamw_grads", grads, {steps, n});
  dump.write("adamw_p", param, {n});
  dump.write("adamw_m", m, {n});
  dump.write("adamw_v", v, {n});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    ThreadPool pool(2);
    Dump dump(argv[1]);
    dumpAttention(pool, dump);
    dumpNorms(pool, dump);
    dumpActivations(pool, dump);
    dumpCrossEntropy(pool, dump);
    dumpAdamW(pool, dump);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
