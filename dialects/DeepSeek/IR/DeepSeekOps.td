//===- DeepSeekOps.td - deepseek operations ----------------*- tablegen -*-===//
//
// Part of Jikji. The operations of the as-written DeepSeek graph. Each op's
// description states its math as ../shared/MODEL.md does.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKOPS_TD
#define JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKOPS_TD

include "dialects/DeepSeek/IR/DeepSeekAttrs.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

/// Activations are float32 throughout, as in DeepSeek's reference on the CPU.
def DeepSeek_Activation : RankedTensorOf<[F32]>;
/// Weights keep their checkpoint storage type.
def DeepSeek_WeightElement : AnyTypeOf<[BF16, F16, F32, F8E4M3FN]>;
def DeepSeek_Weight : RankedTensorOf<[DeepSeek_WeightElement]>;
def DeepSeek_TokenIds : TensorRankOf<[I32, I64], [1]>;
def DeepSeek_ExpertIds : TensorRankOf<[I32, I64], [2]>;
/// One position per token, for ops that take tokens of several sequences.
def DeepSeek_Positions : TensorRankOf<[I64], [1]>;

//===----------------------------------------------------------------------===//
// deepseek.param
//===----------------------------------------------------------------------===//

def DeepSeek_ParamOp : DeepSeek_Op<"param", [Pure]> {
  let summary = "a model parameter, named as in the checkpoint";
  let description = [{
    Produces the checkpoint tensor `name` with its stored element type and
    shape. The compiler never reads the data: the runtime binds the tensor by
    name when it loads the weights (DESIGN.md, decision 2).

    ```mlir
    %w = deepseek.param "model.layers.0.self_attn.kv_b_proj.weight" : tensor<512x64xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.expert_param
//===----------------------------------------------------------------------===//

def DeepSeek_ExpertParamOp : DeepSeek_Op<"expert_param", [Pure]> {
  let summary = "one parameter of every routed expert, stacked";
  let description = [{
    Produces `E` checkpoint tensors as one tensor whose leading dimension is
    the expert: entry `e` is the tensor named by `name` with its `*`
    component replaced by `e`. The experts stay separate tensors in the
    checkpoint; stacking is how the graph refers to all of them at once.

    ```mlir
    %g = deepseek.expert_param "model.layers.1.mlp.experts.*.gate_proj.weight" : tensor<16x64x256xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of experts stacked in the result.
    int64_t getNumExperts() { return getResult().getType().getDimSize(0); }
    /// The checkpoint name of expert `expert`'s tensor.
    std::string getExpertTensorName(int64_t expert);
  }];
}

//===----------------------------------------------------------------------===//
// deepseek.embedding
//===----------------------------------------------------------------------===//

def DeepSeek_EmbeddingOp : DeepSeek_Op<"embedding", [Pure]> {
  let summary = "rows of an embedding table, widened to float32";
  let description = [{
    `result[t, :] = float32(table[tokens[t], :])`. Token ids are checked
    against the vocabulary by the runtime before they reach the graph.

    ```mlir
    %h = deepseek.embedding %table[%tokens] : tensor<1024x256xbf16>, tensor<?xi64> -> tensor<?x256xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Weight:$table, DeepSeek_TokenIds:$tokens);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` type($table) `,` type($tokens)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.rms_norm
//===----------------------------------------------------------------------===//

def DeepSeek_RmsNormOp : DeepSeek_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm over the last axis";
  let description = [{
    `result = input / sqrt(mean(input², last axis) + epsilon) * weight`,
    computed in float32.

    ```mlir
    %n = deepseek.rms_norm %h, %w eps 1.0e-06 : tensor<?x256xf32>, tensor<256xbf16>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input, DeepSeek_Weight:$weight,
                   F64Attr:$epsilon);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight `eps` $epsilon attr-dict `:` type($input) `,`
    type($weight)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.linear
//===----------------------------------------------------------------------===//

def DeepSeek_LinearOp : DeepSeek_Op<"linear", [Pure]> {
  let summary = "x Wᵀ with W stored [out, in], optionally FP8 block-scaled";
  let description = [{
    `result[t, o] = Σ_i input[t, i] · W[o, i]` in float32, with `W` widened
    from its storage type. An `f8E4M3FN` weight carries `scales`, one float32
    per `block_size` block (`[ceil(out/b0), ceil(in/b1)]`), and the real weight
    is `W[o, i] · scales[o / b0, i / b1]` (DeepSeek's `weight_scale_inv`).

    ```mlir
    %y = deepseek.linear %x, %w : tensor<?x256xf32>, tensor<512x256xbf16> -> tensor<?x512xf32>
    %z = deepseek.linear %x, %w8 scales %s block [128, 128]
        : tensor<?x320xf32>, tensor<704x320xf8E4M3FN>, tensor<6x3xf32> -> tensor<?x704xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input, DeepSeek_Weight:$weight,
                   Optional<RankedTensorOf<[F32]>>:$scales,
                   OptionalAttr<DenseI64ArrayAttr>:$block_size);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`scales` $scales^ `block` $block_size)? attr-dict `:`
    type($input) `,` type($weight) (`,` type($scales)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.split
//===----------------------------------------------------------------------===//

def DeepSeek_SplitOp : DeepSeek_Op<"split", [Pure]> {
  let summary = "split the last axis into consecutive parts";
  let description = [{
    Result `j` holds the `sizes[j]` entries of the last axis that follow those
    of results `0..j-1`; the sizes add up to the last dimension.

    ```mlir
    %nope, %pe = deepseek.split %q [32, 16] : tensor<?x8x48xf32> -> tensor<?x8x32xf32>, tensor<?x8x16xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<DeepSeek_Activation>:$results);
  let assemblyFormat = [{
    $input $sizes attr-dict `:` type($input) `->` type($results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.view
//===----------------------------------------------------------------------===//

def DeepSeek_ViewOp : DeepSeek_Op<"view", [Pure]> {
  let summary = "reshape the trailing axes, keeping the token axis";
  let description = [{
    Reinterprets `input[t, ...]` row-major with other trailing dimensions of
    the same total size, as `tensor.view(T, heads, head_dim)` does in the
    model's code. The leading (token) dimension is kept.

    ```mlir
    %q = deepseek.view %flat : tensor<?x384xf32> -> tensor<?x8x48xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.rope
//===----------------------------------------------------------------------===//

def DeepSeek_RopeOp : DeepSeek_Op<"rope",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding of adjacent pairs";
  let description = [{
    Token `t` sits at position `p = start + t`, or at `p = positions[t]`
    when the op takes `positions` instead of `start` (tokens of different
    sequences, as in a batched decode step). Each adjacent pair
    `(x[2i], x[2i+1])` of the last axis (`i < d/2`) is rotated by the angle
    `p · f[i]` of `rope`: `(x0 cos − x1 sin, x0 sin + x1 cos)`, with cos and
    sin scaled by the rope's magnitude factor. The input is `[T, d]` (the
    shared rotary key) or `[T, heads, d]` (the query).

    ```mlir
    %k = deepseek.rope %k_pe at %start with <theta = 10000.0, factor = 1.0,
        original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0,
        mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x16xf32>
    %q = deepseek.rope %q_pe at positions(%pos : tensor<?xi64>) with <...>
        : tensor<?x16x64xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input, Optional<Index>:$start,
                   Optional<DeepSeek_Positions>:$positions,
                   DeepSeek_RopeAttr:$rope);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = [{
    $input `at` ($start^)?
    (`positions` `(` $positions^ `:` type($positions) `)`)?
    `with` $rope attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.mla_attention
//===----------------------------------------------------------------------===//

def DeepSeek_MlaAttentionOp : DeepSeek_Op<"mla_attention",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["key_cache", "new_key_cache"]>,
     AllTypesMatch<["value_cache", "new_value_cache"]>]> {
  let summary = "multi-head latent attention as written, over an expanded KV cache";
  let description = [{
    The attention of MODEL.md with keys and values expanded per head. The `T`
    new tokens sit at positions `start .. start+T-1`. Their keys
    `concat(key_nope[t, h], key_rope[t])` (the rotary key is shared by all
    heads) and values are written to rows `start .. start+T-1` of the caches,
    which are returned updated; rows from `start+T` on are left as they were.
    Then for every head `h` and new token `t`, over cache rows `s <= start+t`:

    ```
    score[h,t,s] = (query_nope[t,h]·K[s,h,:dn] + query_rope[t,h]·K[s,h,dn:]) * scale
    output[t,h]  = Σ_s softmax_s(score[h,t,:])[s] · V[s,h]
    ```

    The key cache holds `heads × (dn + dr)` values per token and the value
    cache `heads × dv`: the layout DeepSeek's naive attention caches, and the
    one `deepseek-absorb-mla` replaces with the latent.

    With `positions` instead of `start` the op is one batched decode step:
    token `t` is the only new token of its own sequence, at position
    `positions[t]`, and the caches gain a leading slot axis with one slot
    per token. Token `t` writes row `positions[t]` of slot `t` and attends
    over rows `s <= positions[t]` of that slot alone.

    ```mlir
    %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v)
        cache(%kc, %vc) at %start scale 0.1767766952966369
        : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>,
          tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$query_nope,
                   DeepSeek_Activation:$query_rope,
                   DeepSeek_Activation:$key_nope,
                   DeepSeek_Activation:$key_rope,
                   DeepSeek_Activation:$value,
                   DeepSeek_Activation:$key_cache,
                   DeepSeek_Activation:$value_cache,
                   Optional<Index>:$start,
                   Optional<DeepSeek_Positions>:$positions, F64Attr:$scale);
  let results = (outs DeepSeek_Activation:$output,
                 DeepSeek_Activation:$new_key_cache,
                 DeepSeek_Activation:$new_value_cache);
  let assemblyFormat = [{
    `query` `(` $query_nope `,` $query_rope `)`
    `key` `(` $key_nope `,` $key_rope `)`
    `value` `(` $value `)`
    `cache` `(` $key_cache `,` $value_cache `)`
    `at` ($start^)? (`positions` `(` $positions^ `:` type($positions) `)`)?
    `scale` $scale attr-dict `:`
    type($query_nope) `,` type($query_rope) `,` type($key_nope) `,`
    type($key_rope) `,` type($value) `,` type($key_cache) `,`
    type($value_cache) `->` type($output)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.latent_attention
//===----------------------------------------------------------------------===//

def DeepSeek_LatentAttentionOp : DeepSeek_Op<"latent_attention",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["latent_cache", "new_latent_cache"]>,
     AllTypesMatch<["rope_cache", "new_rope_cache"]>]> {
  let summary = "multi-head latent attention in the absorbed form, over the latent cache";
  let description = [{
    The absorbed attention of MODEL.md: the same function as
    `deepseek.mla_attention`, computed without expanding keys and values.
    `up` is `kv_b_proj` `[heads * (dn + dv), rkv]`; per head its first `dn`
    rows are `W_UK[h]` and the next `dv` rows `W_UV[h]`. The `T` new
    tokens' latents `c` and rotary keys are written to rows
    `start .. start+T-1` of the caches, which are returned updated. Then,
    over cache rows `s <= start + t`:

    ```
    q_lat[t,h]   = query_nope[t,h] · W_UK[h]                      # [rkv]
    score[h,t,s] = (q_lat[t,h]·C[s] + query_rope[t,h]·R[s]) * scale
    o_lat[t,h]   = Σ_s softmax_s(score[h,t,:])[s] · C[s]          # [rkv]
    output[t,h]  = o_lat[t,h] · W_UV[h]ᵀ                          # [dv]
    ```

    The caches hold `rkv + dr` values per token (576 for V3) instead of
    `heads × (dn + dr + dv)`.

    With `positions` instead of `start` the op is one batched decode step:
    token `t` is the only new token of its own sequence, at position
    `positions[t]`, and the caches gain a leading slot axis with one slot
    per token. Token `t` writes row `positions[t]` of slot `t` and attends
    over rows `s <= positions[t]` of that slot alone.

    ```mlir
    %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr)
        up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at %start scale 0.1767766952966369
        : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>,
          tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$query_nope,
                   DeepSeek_Activation:$query_rope,
                   DeepSeek_Activation:$latent,
                   DeepSeek_Activation:$key_rope,
                   DeepSeek_Weight:$up,
                   Optional<RankedTensorOf<[F32]>>:$up_scales,
                   OptionalAttr<DenseI64ArrayAttr>:$block_size,
                   DeepSeek_Activation:$latent_cache,
                   DeepSeek_Activation:$rope_cache,
                   Optional<Index>:$start,
                   Optional<DeepSeek_Positions>:$positions, F64Attr:$scale);
  let results = (outs DeepSeek_Activation:$output,
                 DeepSeek_Activation:$new_latent_cache,
                 DeepSeek_Activation:$new_rope_cache);
  let assemblyFormat = [{
    `query` `(` $query_nope `,` $query_rope `)`
    `latent` `(` $latent `,` $key_rope `)`
    `up` `(` $up (`scales` $up_scales^ `block` $block_size)? `:` type($up)
      (`,` type($up_scales)^)? `)`
    `cache` `(` $latent_cache `,` $rope_cache `)`
    `at` ($start^)? (`positions` `(` $positions^ `:` type($positions) `)`)?
    `scale` $scale attr-dict `:`
    type($query_nope) `,` type($query_rope) `,` type($latent) `,`
    type($key_rope) `,` type($latent_cache) `,` type($rope_cache) `->`
    type($output)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.silu_mul
//===----------------------------------------------------------------------===//

def DeepSeek_SiluMulOp : DeepSeek_Op<"silu_mul",
    [Pure, SameOperandsAndResultType]> {
  let summary = "the SwiGLU gate: silu(gate) * up";
  let description = [{
    `result = gate · sigmoid(gate) · up`, elementwise. With the three linear
    layers around it this is `SwiGLU(x; Wg, Wu, Wd)`.

    ```mlir
    %a = deepseek.silu_mul %g, %u : tensor<?x512xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$gate, DeepSeek_Activation:$up);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// deepseek.swiglu
//===----------------------------------------------------------------------===//

def DeepSeek_SwiGluOp : DeepSeek_Op<"swiglu", [Pure]> {
  let summary = "a whole SwiGLU MLP: gate and up as one product, then down";
  let description = [{
    `result = Linear(silu(Linear(x, gate)) * Linear(x, up), down)`, with
    `gate`, `up` `[I, H]` and `down` `[H, I]`. Reading the input once for
    the gate and the up projections is the point: `deepseek-fuse-swiglu`
    forms it from the three linear layers and the `silu_mul` of a dense MLP
    or the shared experts (BF16 weights; FP8 ones stay as written).

    ```mlir
    %y = deepseek.swiglu %x gate(%wg) up(%wu) down(%wd)
        : tensor<?x256xf32>, tensor<512x256xbf16>, tensor<512x256xbf16>, tensor<256x512xbf16> -> tensor<?x256xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input, DeepSeek_Weight:$gate,
                   DeepSeek_Weight:$up, DeepSeek_Weight:$down);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = [{
    $input `gate` `(` $gate `)` `up` `(` $up `)` `down` `(` $down `)` attr-dict
    `:` type($input) `,` type($gate) `,` type($up) `,` type($down) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.add
//===----------------------------------------------------------------------===//

def DeepSeek_AddOp : DeepSeek_Op<"add",
    [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "residual add";
  let description = [{
    `result = lhs + rhs`, elementwise: the residual connections around
    attention and the FFN, and the sum of routed and shared experts.

    ```mlir
    %h2 = deepseek.add %h, %attn : tensor<?x256xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$lhs, DeepSeek_Activation:$rhs);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// deepseek.moe_router
//===----------------------------------------------------------------------===//

def DeepSeek_MoeRouterOp : DeepSeek_Op<"moe_router", [Pure]> {
  let summary = "choose each token's experts and their weights";
  let description = [{
    From the gate's logits `[T, E]` (a `deepseek.linear` over
    `mlp.gate.weight`), per token:

    ```
    s = softmax(logits) or sigmoid(logits)            # scoring
    choice = s + bias                                 # noaux_tc only
    if groups > 1:                                    # E / groups experts per group
        group_score = sum of top 2 of choice (noaux_tc) | max of choice (group_limited_greedy)
        choice = -inf outside the topk_groups best groups
    indices = top-k(choice), ties to the lower expert index
    weights = s[indices]                              # never the bias
    if normalize and k > 1: weights /= sum(weights)
    weights *= scaling
    ```

    ```mlir
    %w, %i = deepseek.moe_router %logits bias %b scoring sigmoid method noaux_tc
        top 4 groups 4 topk_groups 2 normalize scaling 2.5
        : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$logits,
                   Optional<RankedTensorOf<[F32, BF16]>>:$bias,
                   DeepSeek_ScoringFunction:$scoring,
                   DeepSeek_TopKMethod:$method,
                   ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
                   ConfinedAttr<I64Attr, [IntPositive]>:$groups,
                   ConfinedAttr<I64Attr, [IntPositive]>:$topk_groups,
                   UnitAttr:$normalize, F64Attr:$scaling);
  let results = (outs DeepSeek_Activation:$weights,
                 DeepSeek_ExpertIds:$indices);
  let assemblyFormat = [{
    $logits (`bias` $bias^)? `scoring` $scoring `method` $method
    `top` $top_k `groups` $groups `topk_groups` $topk_groups
    (`normalize` $normalize^)? `scaling` $scaling attr-dict `:`
    type($logits) (`,` type($bias)^)? `->` type($weights) `,` type($indices)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.moe_experts
//===----------------------------------------------------------------------===//

def DeepSeek_MoeExpertsOp : DeepSeek_Op<"moe_experts", [Pure]> {
  let summary = "the routed experts, each as written";
  let description = [{
    `result[t] = Σ_j weights[t, j] · SwiGLU(input[t]; gate[e], up[e], down[e])`
    with `e = indices[t, j]`, the stacked expert weights `gate`, `up`
    `[E, I, H]` and `down` `[E, H, I]`. FP8 experts carry the stacked block
    scales of the three weights, in that order.

    ```mlir
    %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d)
        : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>,
          tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input,
                   DeepSeek_Activation:$weights,
                   DeepSeek_ExpertIds:$indices,
                   DeepSeek_Weight:$gate, DeepSeek_Weight:$up,
                   DeepSeek_Weight:$down,
                   Variadic<RankedTensorOf<[F32]>>:$scales,
                   OptionalAttr<DenseI64ArrayAttr>:$block_size);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = [{
    $input `routed` `(` $weights `,` $indices `)` `gate` `(` $gate `)`
    `up` `(` $up `)` `down` `(` $down `)`
    (`scales` `(` $scales^ `)` `block` $block_size)? attr-dict `:`
    type($input) `,` type($weights) `,` type($indices) `,` type($gate) `,`
    type($up) `,` type($down) (`,` type($scales)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.fused_router
//===----------------------------------------------------------------------===//

def DeepSeek_FusedRouterOp : DeepSeek_Op<"fused_router", [Pure]> {
  let summary = "the gate's matrix product and the whole routing, as one op";
  let description = [{
    `deepseek.moe_router` applied to `linear(input, gate)`: the gate's logits
    never leave the op, so a lowering can score and select per token while
    the logits are in registers. The attributes and results are those of
    `deepseek.moe_router`; `deepseek-fuse-moe-routing` produces it.

    ```mlir
    %w, %i = deepseek.fused_router %x gate(%g) bias %b scoring sigmoid method noaux_tc
        top 4 groups 4 topk_groups 2 normalize scaling 2.5
        : tensor<?x256xf32>, tensor<16x256xbf16>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input, DeepSeek_Weight:$gate,
                   Optional<RankedTensorOf<[F32, BF16]>>:$bias,
                   DeepSeek_ScoringFunction:$scoring,
                   DeepSeek_TopKMethod:$method,
                   ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
                   ConfinedAttr<I64Attr, [IntPositive]>:$groups,
                   ConfinedAttr<I64Attr, [IntPositive]>:$topk_groups,
                   UnitAttr:$normalize, F64Attr:$scaling);
  let results = (outs DeepSeek_Activation:$weights,
                 DeepSeek_ExpertIds:$indices);
  let assemblyFormat = [{
    $input `gate` `(` $gate `)` (`bias` $bias^)? `scoring` $scoring
    `method` $method `top` $top_k `groups` $groups `topk_groups` $topk_groups
    (`normalize` $normalize^)? `scaling` $scaling attr-dict `:`
    type($input) `,` type($gate) (`,` type($bias)^)? `->` type($weights) `,`
    type($indices)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// deepseek.grouped_experts
//===----------------------------------------------------------------------===//

def DeepSeek_GroupedExpertsOp : DeepSeek_Op<"grouped_experts", [Pure]> {
  let summary = "the routed experts as one computation over tokens grouped by expert";
  let description = [{
    The same sum as `deepseek.moe_experts`, added to `accumulator` (the
    shared experts' output):

    `result[t] = accumulator[t] + Σ_j weights[t, j] · SwiGLU(input[t]; expert indices[t, j])`

    computed the grouped way: the `T·k` (token, choice) pairs are sorted by
    expert (counts and offsets per expert), each expert multiplies the rows
    it received at once, gate and up together with SwiGLU in the epilogue,
    then the down projection, and each row is scattered back to its token
    with its weight. Work is proportional to `T·k`; an expert that receives
    no token costs nothing.

    ```mlir
    %y = deepseek.grouped_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) accumulate(%shared)
        : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>,
          tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16>
          -> tensor<?x256xf32>
    ```
  }];
  let arguments = (ins DeepSeek_Activation:$input,
                   DeepSeek_Activation:$weights,
                   DeepSeek_ExpertIds:$indices,
                   DeepSeek_Weight:$gate, DeepSeek_Weight:$up,
                   DeepSeek_Weight:$down,
                   Variadic<RankedTensorOf<[F32]>>:$scales,
                   OptionalAttr<DenseI64ArrayAttr>:$block_size,
                   DeepSeek_Activation:$accumulator);
  let results = (outs DeepSeek_Activation:$result);
  let assemblyFormat = [{
    $input `routed` `(` $weights `,` $indices `)` `gate` `(` $gate `)`
    `up` `(` $up `)` `down` `(` $down `)`
    (`scales` `(` $scales^ `)` `block` $block_size)?
    `accumulate` `(` $accumulator `)` attr-dict `:`
    type($input) `,` type($accumulator) `,` type($weights) `,`
    type($indices) `,` type($gate) `,` type($up) `,` type($down)
    (`,` type($scales)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKOPS_TD
