//===- Passes.td - Jikji's graph passes --------------------*- tablegen -*-===//
//
// Part of Jikji. Graph rewrites on the deepseek dialect: the fusions that
// make DeepSeek cheap to run.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_PASSES_PASSES_TD
#define JIKJI_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def AbsorbMlaPass : Pass<"deepseek-absorb-mla", "mlir::ModuleOp"> {
  let summary = "Rewrite as-written MLA into latent attention over a latent cache";
  let description = [{
    Finds each as-written multi-head latent attention, the subgraph

    ```
    kv = linear(c, kv_b_proj); k_nope, v = split(view(kv), [dn, dv])
    mla_attention(q_nope, q_pe, k_nope, k_pe, v) over an expanded cache
    ```

    and replaces it with `deepseek.latent_attention`, which multiplies the
    query by `W_UK` before the scores and applies `W_UV` after the weighted
    sum (MODEL.md, absorbed form). The caches then hold the latent `c`
    (`kv_lora_rank` values per token) and the shared rotary key
    (`qk_rope_head_dim`), so the pass retypes the layer functions' cache
    arguments and `@forward`'s stacked caches; the artifact's manifest
    follows from the new types.

    The rewrite is all or nothing per module: the caches are shared by every
    layer function, so if any attention that reads them does not match,
    nothing changes. With `report-skipped`, each attention left as written
    gets a remark saying why.
  }];
  let options = [
    Option<"reportSkipped", "report-skipped", "bool", /*default=*/"false",
           "Emit a remark for each attention that is not absorbed, with the reason">,
  ];
}

def FuseMoeRoutingPass : Pass<"deepseek-fuse-moe-routing"> {
  let summary = "Fuse the MoE router and group the routed experts by expert";
  let description = [{
    Two rewrites, each a pattern in `populateFuseMoeRoutingPatterns`:

    - `moe_router(linear(x, mlp.gate.weight))` becomes one
      `deepseek.fused_router`: scores, bias, group selection, top-k, the
      unbiased weights, normalisation and scaling from the hidden state.
    - `add(moe_experts(...), shared)` becomes `deepseek.grouped_experts`,
      whose lowering sorts the (token, choice) pairs by expert, runs each
      expert once over the rows it received (gate and up together, SwiGLU in
      the epilogue, then down) and scatters the weighted rows back onto the
      shared experts' output. Work is proportional to tokens x k.

    Each pattern says why it does not apply (`notifyMatchFailure`).
  }];
}

def FuseSwiGluPass : Pass<"deepseek-fuse-swiglu"> {
  let summary = "Fuse a SwiGLU MLP into one op";
  let description = [{
    Rewrites `linear(silu_mul(linear(x, Wg), linear(x, Wu)), Wd)` into
    `deepseek.swiglu`, whose lowering computes the gate and up projections
    per column tile with the SwiGLU as their epilogue, the tiles shared
    among threads. The worked example of docs/writing-a-fusion-pass.md.
  }];
}

#endif // JIKJI_PASSES_PASSES_TD
