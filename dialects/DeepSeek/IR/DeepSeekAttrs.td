//===- DeepSeekAttrs.td - deepseek attributes and enums ----*- tablegen -*-===//
//
// Part of Jikji. The rotary-embedding parameters and the router's enums.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKATTRS_TD
#define JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKATTRS_TD

include "dialects/DeepSeek/IR/DeepSeekDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Router enums
//===----------------------------------------------------------------------===//

def DeepSeek_ScoringSoftmax : I32EnumAttrCase<"Softmax", 0, "softmax">;
def DeepSeek_ScoringSigmoid : I32EnumAttrCase<"Sigmoid", 1, "sigmoid">;
def DeepSeek_ScoringFunction : I32EnumAttr<"ScoringFunction",
    "how router logits become expert scores",
    [DeepSeek_ScoringSoftmax, DeepSeek_ScoringSigmoid]> {
  let cppNamespace = "::jikji::deepseek";
}

def DeepSeek_TopKGreedy : I32EnumAttrCase<"Greedy", 0, "greedy">;
def DeepSeek_TopKGroupLimitedGreedy
    : I32EnumAttrCase<"GroupLimitedGreedy", 1, "group_limited_greedy">;
def DeepSeek_TopKNoAuxTc : I32EnumAttrCase<"NoAuxTc", 2, "noaux_tc">;
def DeepSeek_TopKMethod : I32EnumAttr<"TopKMethod",
    "how the router picks its experts",
    [DeepSeek_TopKGreedy, DeepSeek_TopKGroupLimitedGreedy,
     DeepSeek_TopKNoAuxTc]> {
  let cppNamespace = "::jikji::deepseek";
}

//===----------------------------------------------------------------------===//
// RoPE parameters
//===----------------------------------------------------------------------===//

/// A double-precision parameter printed and parsed as a plain float, so
/// that `theta = 10000.0` reads as the config writes it.
class DeepSeek_F64Parameter<string desc> : APFloatParameter<desc> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::APFloat> {
    double value = 0;
    if ($_parser.parseFloat(value))
      return ::mlir::failure();
    return ::llvm::APFloat(value);
  }() }];
  let printer = [{ $_printer.printFloat($_self) }];
}

def DeepSeek_RopeAttr : AttrDef<DeepSeek_Dialect, "Rope"> {
  let mnemonic = "rope";
  let summary = "rotary position embedding with YaRN context extension";
  let description = [{
    The parameters of the rotary embedding of MODEL.md. The base frequencies
    are `f[i] = theta ** (-2i / d)` for the rotated dimension `d`; YaRN blends
    them with `f[i] / factor` over the ramp between the correction dimensions
    of `beta_fast` and `beta_slow`, computed against
    `original_max_position`. cos and sin are scaled by
    `mscale'(mscale) / mscale'(mscale_all_dim)`,
    `mscale'(a) = 0.1 a ln(factor) + 1`.

    A `factor` of 1 is plain RoPE: the blend and both scales are then the
    identity whatever the other parameters say.

    ```mlir
    #deepseek.rope<theta = 10000.0, factor = 40.0, original_max_position = 4096,
                   beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0,
                   mscale_all_dim = 1.0>
    ```
  }];
  let parameters = (ins
    DeepSeek_F64Parameter<"base of the frequencies">:$theta,
    DeepSeek_F64Parameter<"YaRN context extension factor">:$factor,
    "int64_t":$originalMaxPosition,
    DeepSeek_F64Parameter<"fast correction rotation count">:$betaFast,
    DeepSeek_F64Parameter<"slow correction rotation count">:$betaSlow,
    DeepSeek_F64Parameter<"magnitude scale numerator">:$mscale,
    DeepSeek_F64Parameter<"magnitude scale denominator">:$mscaleAllDim
  );
  let assemblyFormat = [{
    `<` `theta` `=` $theta `,` `factor` `=` $factor `,`
        `original_max_position` `=` $originalMaxPosition `,`
        `beta_fast` `=` $betaFast `,` `beta_slow` `=` $betaSlow `,`
        `mscale` `=` $mscale `,` `mscale_all_dim` `=` $mscaleAllDim `>`
  }];
  let genVerifyDecl = 1;
}

#endif // JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKATTRS_TD
