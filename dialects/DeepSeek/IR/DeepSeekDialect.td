//===- DeepSeekDialect.td - The deepseek dialect -----------*- tablegen -*-===//
//
// Part of Jikji. The dialect that holds a DeepSeek V2/V3 model graph, first as
// ../shared/MODEL.md writes it, then as the fusion passes rewrite it.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKDIALECT_TD
#define JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKDIALECT_TD

include "mlir/IR/OpBase.td"

def DeepSeek_Dialect : Dialect {
  let name = "deepseek";
  let cppNamespace = "::jikji::deepseek";
  let summary = "The model graph of DeepSeek V2/V3 checkpoints";
  let description = [{
    The `deepseek` dialect expresses the forward pass of a DeepSeek V2 or V3
    model at the granularity of the model's own description: embeddings,
    RMSNorm, linear layers over checkpoint weights, rotary embeddings with
    YaRN, multi-head latent attention over an explicit KV cache, the
    mixture-of-experts router and experts, and SwiGLU.

    Activations are `f32` tensors whose leading dimension is the number of new
    tokens (dynamic). Weights are tensors of their storage type (`bf16`, `f16`,
    `f32`, or `f8E4M3FN` with block scales) produced by `deepseek.param` ops
    that name the checkpoint tensor; weights never enter the IR as constants.
    The KV cache is an ordinary tensor value threaded through the graph, so
    its layout is part of every function type that touches it.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes of DeepSeekAttrs.td (defined beside them).
    void registerAttributes();
  }];
}

/// Base class of every `deepseek` op.
class DeepSeek_Op<string mnemonic, list<Trait> traits = []>
    : Op<DeepSeek_Dialect, mnemonic, traits>;

#endif // JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKDIALECT_TD
