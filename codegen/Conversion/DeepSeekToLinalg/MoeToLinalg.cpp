//===- MoeToLinalg.cpp - deepseek.moe_router/moe_experts to linalg --------===//
//
// Part of Jikji. The router scores with linalg and picks experts with scf
// loops per token (top-k is a selection, not a contraction); the experts run
// as written, one SwiGLU per (token, chosen expert), so the work is
// proportional to tokens x k. Grouping tokens by expert is the fusion pass's
// job, not this lowering's. Without the CPU kernels (the GPU, whose kernels
// are the linalg ops' parallel elements and whose host code must not read
// what they write) nothing runs outside a linalg op: the router is one op
// over (token, choice), and the experts, grouped or not, are ops over the
// experts, the pairs and the output (GroupedExpertsByElement).
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <functional>
#include <limits>

using namespace mlir;
using namespace jikji::lowering;
namespace ds = jikji::deepseek;

namespace {

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();
// Rows per expert, on average, up to which a step of several tokens runs
// its experts whole on threads (fewTokensExperts): a batched decode step's
// 1-3 rows per expert (96 rows over 64 experts at batch 16 on V2-Lite).
constexpr int64_t kFewRowsPerExpert = 4;

Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}
Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Row-wise softmax or elementwise sigmoid of the router logits [T, E].
Value scoreExperts(OpBuilder &b, Location loc, Value logits,
                   ds::ScoringFunction scoring) {
  auto type = cast<RankedTensorType>(logits.getType());
  SmallVector<Value> dynamic = dynamicSizesOf(b, loc, logits);
  AffineMap identity = b.getMultiDimIdentityMap(2);
  Value empty = emptyTensor(b, loc, type, dynamic);
  if (scoring == ds::ScoringFunction::Sigmoid)
    return linalg::GenericOp::create(
               b, loc, type, ValueRange{logits}, ValueRange{empty},
               ArrayRef<AffineMap>{identity, identity}, iterators(2),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 Value exp = math::ExpOp::create(
                     b, loc, arith::NegFOp::create(b, loc, args[0]));
                 Value denominator = arith::AddFOp::create(
                     b, loc, f32Constant(b, loc, 1.0), exp);
                 yieldValue(b, loc,
                            arith::DivFOp::create(
                                b, loc, f32Constant(b, loc, 1.0), denominator));
               })
        .getResult(0);

  MLIRContext *context = b.getContext();
  auto rowType = RankedTensorType::get({type.getDimSize(0)}, b.getF32Type());
  AffineMap rowMap =
      AffineMap::get(2, 0, getAffineDimExpr(0, context), context);
  Value lowest = filledTensor(b, loc, rowType, dynamic, kMinusInfinity);
  Value maxima =
      linalg::GenericOp::create(
          b, loc, rowType, ValueRange{logits}, ValueRange{lowest},
          ArrayRef<AffineMap>{identity, rowMap}, iterators(1, 1),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            yieldValue(b, loc,
                       arith::MaximumFOp::create(b, loc, args[0], args[1]));
          })
          .getResult(0);
  Value zeros = filledTensor(b, loc, rowType, dynamic, 0.0);
  Value sums =
      linalg::GenericOp::create(
          b, loc, rowType, ValueRange{logits, maxima}, ValueRange{zeros},
          ArrayRef<AffineMap>{identity, rowMap, rowMap}, iterators(1, 1),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value exp = math::ExpOp::create(
                b, loc, arith::SubFOp::create(b, loc, args[0], args[1]));
            yieldValue(b, loc, arith::AddFOp::create(b, loc, args[2], exp));
          })
          .getResult(0);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{logits, maxima, sums}, ValueRange{empty},
             ArrayRef<AffineMap>{identity, rowMap, rowMap, identity},
             iterators(2),
             [&](OpBuilder &b, Location loc, ValueRange args) {
               Value exp = math::ExpOp::create(
                   b, loc, arith::SubFOp::create(b, loc, args[0], args[1]));
               yieldValue(b, loc, arith::DivFOp::create(b, loc, exp, args[2]));
             })
      .getResult(0);
}

/// Token t's choice value for expert e (its score plus any bias), built
/// where the builder stands: a read of a tensor of them, or (in a kernel
/// that keeps no tensor of them) computed from the logits.
using ChoiceAt = std::function<Value(OpBuilder &, Location, Value, Value)>;

/// The routing of one token, as loops over its choice values.
class TokenRouter {
public:
  /// With `rolled`, the group scores loop over each group's experts
  /// rather than unrolling them (a kernel that computes each choice value
  /// from the logits would otherwise repeat that code once per expert).
  TokenRouter(OpBuilder &b, Location loc, ds::MoeRouterOp op, ChoiceAt choice,
              bool rolled = false)
      : b(b), loc(loc), op(op), choice(std::move(choice)),
        experts(op.getLogits().getType().getDimSize(1)),
        groupSize(experts / op.getGroups()), rolled(rolled) {}

  /// A bit mask (bit g set) of the groups token `t` may use: all of them
  /// without grouping, else the topk_groups best by group score.
  Value keptGroups(Value t) {
    int64_t groups = op.getGroups();
    if (groups == 1)
      return arith::ConstantIntOp::create(b, loc, b.getI64Type(), 1);
    SmallVector<Value> groupScores;
    for (int64_t g = 0; g < groups; ++g)
      groupScores.push_back(groupScore(t, g));
    // Keep the best topk_groups groups, ties to the lower group index.
    Value kept = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0);
    for (int64_t pick = 0, picks = op.getTopkGroups(); pick < picks; ++pick) {
      Value best = f32Constant(b, loc, kMinusInfinity);
      Value bestGroup =
          arith::ConstantIntOp::create(b, loc, b.getI64Type(), -1);
      for (int64_t g = 0; g < groups; ++g) {
        Value bit = bitOf(
            kept, arith::ConstantIntOp::create(b, loc, b.getI64Type(), g));
        Value free = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::eq, bit,
            arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0));
        Value better = arith::OrIOp::create(
            b, loc,
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                  groupScores[g], best),
            arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::slt, bestGroup,
                arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0)));
        Value take = arith::AndIOp::create(b, loc, free, better);
        best = arith::SelectOp::create(b, loc, take, groupScores[g], best);
        bestGroup = arith::SelectOp::create(
            b, loc, take,
            arith::ConstantIntOp::create(b, loc, b.getI64Type(), g), bestGroup);
      }
      Value one = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 1);
      kept = arith::OrIOp::create(
          b, loc, kept, arith::ShLIOp::create(b, loc, one, bestGroup));
    }
    return kept;
  }

  /// The `j`-th expert of token `t`: the best-scoring expert in a kept group
  /// not already among `indices[t, 0..j)`, ties to the lower index.
  Value pickExpert(Value t, Value j, Value kept, Value indices) {
    auto notTaken = [&](OpBuilder &b, Location loc, Value, Value e64) {
      return arith::XOrIOp::create(
          b, loc, alreadyChosen(b, loc, t, j, e64, indices),
          arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
    };
    return bestExpert(t, kept, notTaken).second;
  }

  /// The expert after (`previous`, `previousExpert`) in the order in
  /// which the token picks its experts (choice value down, then index up)
  /// among the kept groups, and its choice value: the first pick when
  /// `previousExpert` is negative. The same picks as pickExpert, found
  /// without the picks so far, so that a kernel needs no memory for them.
  std::pair<Value, Value> pickAfter(Value t, Value kept, Value previous,
                                    Value previousExpert) {
    Value first = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::slt, previousExpert,
        arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0));
    auto comesAfter = [&](OpBuilder &b, Location loc, Value value,
                          Value e64) {
      Value after = arith::OrIOp::create(
          b, loc,
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, value,
                                previous),
          arith::AndIOp::create(
              b, loc,
              arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, value,
                                    previous),
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, e64,
                                    previousExpert)));
      return arith::OrIOp::create(b, loc, first, after);
    };
    return bestExpert(t, kept, comesAfter);
  }

private:
  /// Whether expert `e64` (i64), of choice value `value`, may be picked
  /// besides being in a kept group (an i1).
  using EligibleFn =
      llvm::function_ref<Value(OpBuilder &, Location, Value value, Value e64)>;

  /// The best-scoring expert of token `t` in a kept group that `eligible`
  /// admits, ties to the lower index, and its choice value: (-inf, -1)
  /// when there is none. A loop over the experts, so that a kernel needs
  /// no memory for the scores.
  std::pair<Value, Value> bestExpert(Value t, Value kept,
                                     EligibleFn eligible) {
    Value lowest = f32Constant(b, loc, kMinusInfinity);
    Value none = arith::ConstantIntOp::create(b, loc, b.getI64Type(), -1);
    auto loop = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, experts),
        indexConstant(b, loc, 1), ValueRange{lowest, none},
        [&](OpBuilder &b, Location loc, Value e, ValueRange carried) {
          Value value = choice(b, loc, t, e);
          Value e64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), e);
          Value zero = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0);
          Value group = arith::DivUIOp::create(
              b, loc, e64,
              arith::ConstantIntOp::create(b, loc, b.getI64Type(), groupSize));
          Value inKeptGroup = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::ne, bitOf(kept, group), zero);
          Value admitted = eligible(b, loc, value, e64);
          Value better = arith::OrIOp::create(
              b, loc,
              arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, value,
                                    carried[0]),
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                    carried[1], zero));
          Value take = arith::AndIOp::create(
              b, loc, arith::AndIOp::create(b, loc, inKeptGroup, better),
              admitted);
          scf::YieldOp::create(
              b, loc,
              ValueRange{
                  arith::SelectOp::create(b, loc, take, value, carried[0]),
                  arith::SelectOp::create(b, loc, take, e64, carried[1])});
        });
    return {loop.getResult(0), loop.getResult(1)};
  }

  Value bitOf(Value mask, Value index) {
    Value one = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 1);
    return arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, mask, index), one);
  }

  /// Whether expert `e` is among indices[t, 0..j).
  Value alreadyChosen(OpBuilder &b, Location loc, Value t, Value j, Value e,
                      Value indices) {
    Value no = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0);
    auto loop = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), j, indexConstant(b, loc, 1),
        ValueRange{no},
        [&](OpBuilder &b, Location loc, Value jj, ValueRange carried) {
          Value chosen =
              tensor::ExtractOp::create(b, loc, indices, ValueRange{t, jj});
          Value chosen64 =
              arith::ExtSIOp::create(b, loc, b.getI64Type(), chosen);
          Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             chosen64, e);
          scf::YieldOp::create(
              b, loc,
              ValueRange{arith::OrIOp::create(b, loc, carried[0], same)});
        });
    return loop.getResult(0);
  }

  /// noaux_tc: the sum of the group's top two choices; group_limited_greedy:
  /// its best choice.
  Value groupScore(Value t, int64_t group) {
    Value first = f32Constant(b, loc, kMinusInfinity);
    Value second = f32Constant(b, loc, kMinusInfinity);
    // The best two so far, updated by `value`.
    auto update = [](OpBuilder &b, Location loc, Value value, Value &first,
                     Value &second) {
      Value aboveFirst = arith::CmpFOp::create(
          b, loc, arith::CmpFPredicate::OGT, value, first);
      Value aboveSecond = arith::CmpFOp::create(
          b, loc, arith::CmpFPredicate::OGT, value, second);
      second = arith::SelectOp::create(
          b, loc, aboveFirst, first,
          arith::SelectOp::create(b, loc, aboveSecond, value, second));
      first = arith::SelectOp::create(b, loc, aboveFirst, value, first);
    };
    if (rolled) {
      auto loop = scf::ForOp::create(
          b, loc, indexConstant(b, loc, group * groupSize),
          indexConstant(b, loc, (group + 1) * groupSize),
          indexConstant(b, loc, 1), ValueRange{first, second},
          [&](OpBuilder &b, Location loc, Value e, ValueRange best) {
            Value newFirst = best[0], newSecond = best[1];
            update(b, loc, choice(b, loc, t, e), newFirst, newSecond);
            scf::YieldOp::create(b, loc, ValueRange{newFirst, newSecond});
          });
      first = loop.getResult(0);
      second = loop.getResult(1);
    } else {
      for (int64_t e = group * groupSize; e < (group + 1) * groupSize; ++e)
        update(b, loc, choice(b, loc, t, indexConstant(b, loc, e)), first,
               second);
    }
    if (op.getMethod() == ds::TopKMethod::NoAuxTc)
      return arith::AddFOp::create(b, loc, first, second);
    return first;
  }

  OpBuilder &b;
  Location loc;
  ds::MoeRouterOp op;
  ChoiceAt choice;
  int64_t experts;
  int64_t groupSize;
  bool rolled;
};

/// The router as one linalg.generic over [tokens, k], for targets that
/// run each element of a linalg op on its own thread (the GPU): element
/// (t, j) is token t's j-th expert and its weight. Its thread scores the
/// token's experts from the logits, selects the groups and all k experts
/// (the weights are normalized over them) and keeps what is its own, so
/// the whole router is one kernel that needs no memory but its outputs.
/// A token's k threads repeat each other's selection: O(k * experts) each,
/// small next to the products, and no thread waits for another.
std::pair<Value, Value> routeByElement(OpBuilder &b, Location loc,
                                       ds::MoeRouterOp op) {
  Value logits = op.getLogits();
  Value bias = op.getBias();
  int64_t experts = op.getLogits().getType().getDimSize(1);
  int64_t topK = op.getTopK();
  bool softmax = op.getScoring() == ds::ScoringFunction::Softmax;
  bool normalize = op.getNormalize() && topK > 1;
  double scaling = op.getScaling().convertToDouble();
  RankedTensorType weightsType = op.getWeights().getType();
  RankedTensorType indicesType = op.getIndices().getType();
  Value tokens = tensor::DimOp::create(b, loc, logits, 0);
  AffineMap identity = b.getMultiDimIdentityMap(2);
  auto routing = linalg::GenericOp::create(
      b, loc, TypeRange{weightsType, indicesType}, ValueRange{},
      ValueRange{emptyTensor(b, loc, weightsType, tokens),
                 emptyTensor(b, loc, indicesType, tokens)},
      ArrayRef<AffineMap>{identity, identity}, iterators(2),
      [&](OpBuilder &b, Location loc, ValueRange) {
        Value t = linalg::IndexOp::create(b, loc, 0);
        Value j = linalg::IndexOp::create(b, loc, 1);
        auto logitAt = [&](OpBuilder &b, Location loc, Value e) -> Value {
          return tensor::ExtractOp::create(b, loc, logits, ValueRange{t, e});
        };
        // A softmax needs the row's maximum and sum first.
        Value rowMax, rowSum;
        if (softmax) {
          rowMax =
              scf::ForOp::create(
                  b, loc, indexConstant(b, loc, 0),
                  indexConstant(b, loc, experts), indexConstant(b, loc, 1),
                  ValueRange{f32Constant(b, loc, kMinusInfinity)},
                  [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
                    scf::YieldOp::create(
                        b, loc,
                        ValueRange{arith::MaximumFOp::create(
                            b, loc, logitAt(b, loc, e), acc[0])});
                  })
                  .getResult(0);
          rowSum =
              scf::ForOp::create(
                  b, loc, indexConstant(b, loc, 0),
                  indexConstant(b, loc, experts), indexConstant(b, loc, 1),
                  ValueRange{f32Constant(b, loc, 0.0)},
                  [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
                    Value exp = math::ExpOp::create(
                        b, loc,
                        arith::SubFOp::create(b, loc, logitAt(b, loc, e),
                                              rowMax));
                    scf::YieldOp::create(
                        b, loc,
                        ValueRange{arith::AddFOp::create(b, loc, acc[0], exp)});
                  })
                  .getResult(0);
        }
        // The same formulas as scoreExperts, element by element.
        auto scoreAt = [&](OpBuilder &b, Location loc, Value e) -> Value {
          Value logit = logitAt(b, loc, e);
          if (softmax)
            return arith::DivFOp::create(
                b, loc,
                math::ExpOp::create(
                    b, loc, arith::SubFOp::create(b, loc, logit, rowMax)),
                rowSum);
          Value exp =
              math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, logit));
          return arith::DivFOp::create(
              b, loc, f32Constant(b, loc, 1.0),
              arith::AddFOp::create(b, loc, f32Constant(b, loc, 1.0), exp));
        };
        // The bias steers the choice but never the weights.
        TokenRouter router(
            b, loc, op, [&](OpBuilder &b, Location loc, Value, Value e) {
              Value score = scoreAt(b, loc, e);
              if (!bias)
                return score;
              Value biasValue =
                  tensor::ExtractOp::create(b, loc, bias, ValueRange{e});
              return arith::AddFOp::create(b, loc, score,
                                           widenToF32(b, loc, biasValue))
                  .getResult();
            },
            /*rolled=*/true);
        Value kept = router.keptGroups(t);
        // All k picks in order, summing their weights; this thread's is
        // the j-th.
        Value noExpert =
            arith::ConstantIntOp::create(b, loc, b.getI64Type(), -1);
        auto picks = scf::ForOp::create(
            b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, topK),
            indexConstant(b, loc, 1),
            ValueRange{f32Constant(b, loc, kMinusInfinity), noExpert,
                       f32Constant(b, loc, 0.0), f32Constant(b, loc, 0.0),
                       noExpert},
            [&](OpBuilder &b, Location loc, Value pick, ValueRange carried) {
              auto [value, expert] =
                  router.pickAfter(t, kept, carried[0], carried[1]);
              Value weight = scoreAt(
                  b, loc,
                  arith::IndexCastOp::create(b, loc, b.getIndexType(), expert));
              Value mine = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::eq, pick, j);
              scf::YieldOp::create(
                  b, loc,
                  ValueRange{
                      value, expert,
                      arith::AddFOp::create(b, loc, carried[2], weight),
                      arith::SelectOp::create(b, loc, mine, weight,
                                              carried[3]),
                      arith::SelectOp::create(b, loc, mine, expert,
                                              carried[4])});
            });
        // weight / sum(weights) when normalizing, then * scaling.
        Value weight = picks.getResult(3);
        if (normalize)
          weight = arith::DivFOp::create(b, loc, weight, picks.getResult(2));
        weight = arith::MulFOp::create(b, loc, weight,
                                       f32Constant(b, loc, scaling));
        Value expert = picks.getResult(4);
        if (!indicesType.getElementType().isInteger(64))
          expert = arith::TruncIOp::create(b, loc, indicesType.getElementType(),
                                           expert);
        linalg::YieldOp::create(b, loc, ValueRange{weight, expert});
      });
  return {routing.getResult(0), routing.getResult(1)};
}

struct MoeRouterPattern final : OpRewritePattern<ds::MoeRouterOp> {
  MoeRouterPattern(MLIRContext *context, const jikji::LoweringOptions &options)
      : OpRewritePattern(context), options(options) {}
  jikji::LoweringOptions options;
  LogicalResult matchAndRewrite(ds::MoeRouterOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getGroups() > 64)
      return rewriter.notifyMatchFailure(
          op, "group masks are 64-bit: more than 64 groups are not lowered");
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    if (!options.cpuKernels) {
      auto [weights, indices] = routeByElement(b, loc, op);
      rewriter.replaceOp(op, {weights, indices});
      return success();
    }
    Value logits = op.getLogits();
    RankedTensorType logitsType = op.getLogits().getType();
    SmallVector<Value> dynamic = dynamicSizesOf(b, loc, logits);
    AffineMap identity = b.getMultiDimIdentityMap(2);

    Value scores = scoreExperts(b, loc, logits, op.getScoring());
    // The bias steers the choice but never the weights.
    Value choice = scores;
    if (Value bias = op.getBias()) {
      MLIRContext *context = b.getContext();
      AffineMap biasMap =
          AffineMap::get(2, 0, getAffineDimExpr(1, context), context);
      choice =
          linalg::GenericOp::create(
              b, loc, logitsType, ValueRange{scores, bias},
              ValueRange{emptyTensor(b, loc, logitsType, dynamic)},
              ArrayRef<AffineMap>{identity, biasMap, identity}, iterators(2),
              [&](OpBuilder &b, Location loc, ValueRange args) {
                yieldValue(b, loc,
                           arith::AddFOp::create(b, loc, args[0],
                                                 widenToF32(b, loc, args[1])));
              })
              .getResult(0);
    }

    RankedTensorType weightsType = op.getWeights().getType();
    RankedTensorType indicesType = op.getIndices().getType();
    Value tokens = tensor::DimOp::create(b, loc, logits, 0);
    Value weights = emptyTensor(b, loc, weightsType, tokens);
    Value indices = emptyTensor(b, loc, indicesType, tokens);
    TokenRouter router(b, loc, op,
                       [&](OpBuilder &b, Location loc, Value t, Value e) {
                         return tensor::ExtractOp::create(b, loc, choice,
                                                          ValueRange{t, e})
                             .getResult();
                       });
    auto perToken = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), tokens, indexConstant(b, loc, 1),
        ValueRange{weights, indices},
        [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
          Value kept = router.keptGroups(t);
          auto perChoice = scf::ForOp::create(
              b, loc, indexConstant(b, loc, 0),
              indexConstant(b, loc, op.getTopK()), indexConstant(b, loc, 1),
              carried,
              [&](OpBuilder &b, Location loc, Value j, ValueRange carried) {
                Value expert = router.pickExpert(t, j, kept, carried[1]);
                Value expertIndex = arith::IndexCastOp::create(
                    b, loc, b.getIndexType(), expert);
                Value weight = tensor::ExtractOp::create(
                    b, loc, scores, ValueRange{t, expertIndex});
                Value stored = arith::TruncIOp::create(
                    b, loc, indicesType.getElementType(), expert);
                if (indicesType.getElementType().isInteger(64))
                  stored = expert;
                Value newWeights = tensor::InsertOp::create(
                    b, loc, weight, carried[0], ValueRange{t, j});
                Value newIndices = tensor::InsertOp::create(
                    b, loc, stored, carried[1], ValueRange{t, j});
                scf::YieldOp::create(b, loc,
                                     ValueRange{newWeights, newIndices});
              });
          scf::YieldOp::create(b, loc, perChoice.getResults());
        });
    weights = perToken.getResult(0);
    indices = perToken.getResult(1);

    // weights / sum(weights) when normalizing, then * scaling.
    int64_t topK = op.getTopK();
    bool normalize = op.getNormalize() && topK > 1;
    double scaling = op.getScaling().convertToDouble();
    MLIRContext *context = b.getContext();
    AffineMap rowMap =
        AffineMap::get(2, 0, getAffineDimExpr(0, context), context);
    auto rowType =
        RankedTensorType::get({weightsType.getDimSize(0)}, b.getF32Type());
    Value sums = filledTensor(b, loc, rowType, tokens, 1.0);
    if (normalize)
      sums = linalg::GenericOp::create(
                 b, loc, rowType, ValueRange{weights},
                 ValueRange{filledTensor(b, loc, rowType, tokens, 0.0)},
                 ArrayRef<AffineMap>{identity, rowMap}, iterators(1, 1),
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   yieldValue(b, loc,
                              arith::AddFOp::create(b, loc, args[1], args[0]));
                 })
                 .getResult(0);
    Value scaled =
        linalg::GenericOp::create(
            b, loc, weightsType, ValueRange{weights, sums},
            ValueRange{emptyTensor(b, loc, weightsType, tokens)},
            ArrayRef<AffineMap>{identity, rowMap, identity}, iterators(2),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value normalized =
                  arith::DivFOp::create(b, loc, args[0], args[1]);
              yieldValue(b, loc,
                         arith::MulFOp::create(b, loc, normalized,
                                               f32Constant(b, loc, scaling)));
            })
            .getResult(0);
    rewriter.replaceOp(op, {scaled, indices});
    return success();
  }
};

/// Expert `e`'s matrix of a stacked [E, rows, cols] weight.
Value expertMatrix(OpBuilder &b, Location loc, Value stacked, Value e) {
  auto type = cast<RankedTensorType>(stacked.getType());
  int64_t rows = type.getDimSize(1), cols = type.getDimSize(2);
  SmallVector<OpFoldResult> offsets{e, b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(rows),
                                  b.getIndexAttr(cols)};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  auto matrixType = RankedTensorType::get({rows, cols}, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, matrixType, stacked, offsets,
                                        sizes, strides);
}

/// One row of a [T, n] tensor as a vector [n].
Value rowOf(OpBuilder &b, Location loc, Value matrix, Value t) {
  auto type = cast<RankedTensorType>(matrix.getType());
  int64_t width = type.getDimSize(1);
  SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({width}, type.getElementType()), matrix,
      offsets, sizes, strides);
}

/// `matrix` with row t replaced by `row` [n].
Value withRow(OpBuilder &b, Location loc, Value row, Value matrix, Value t) {
  int64_t width = cast<RankedTensorType>(matrix.getType()).getDimSize(1);
  SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, row, matrix, offsets, sizes,
                                       strides);
}

/// `accumulator + weight · row` for two vectors [n]: how a routed expert's
/// output joins its token's sum.
Value addWeighted(OpBuilder &b, Location loc, Value accumulator, Value row,
                  Value weight) {
  AffineMap identity = b.getMultiDimIdentityMap(1);
  return linalg::GenericOp::create(
             b, loc, accumulator.getType(), ValueRange{row},
             ValueRange{accumulator}, ArrayRef<AffineMap>{identity, identity},
             iterators(1),
             [&](OpBuilder &b, Location loc, ValueRange args) {
               Value scaled = arith::MulFOp::create(b, loc, args[0], weight);
               yieldValue(b, loc,
                          arith::AddFOp::create(b, loc, args[1], scaled));
             })
      .getResult(0);
}

/// The fused router lowers through the gate's linear layer and the router
/// (the conversion lowers both in turn): the fusion pays off in the IR the
/// passes see; a lowering that keeps the logits in registers can replace
/// this one without changing the op.
struct FusedRouterPattern final : OpRewritePattern<ds::FusedRouterOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::FusedRouterOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t experts = op.getGate().getType().getDimSize(0);
    auto logitsType =
        RankedTensorType::get({op.getInput().getType().getDimSize(0), experts},
                              rewriter.getF32Type());
    Value logits =
        ds::LinearOp::create(rewriter, loc, logitsType, op.getInput(),
                             op.getGate(), Value(), nullptr);
    auto router = ds::MoeRouterOp::create(
        rewriter, loc, op.getWeights().getType(), op.getIndices().getType(),
        logits, op.getBias(), op.getScoringAttr(), op.getMethodAttr(),
        op.getTopKAttr(), op.getGroupsAttr(), op.getTopkGroupsAttr(),
        op.getNormalizeAttr(), op.getScalingAttr());
    rewriter.replaceOp(op, router.getResults());
    return success();
  }
};

/// Integer tensor helpers for the grouping.
Value indexTensor(OpBuilder &b, Location loc, int64_t size, Value dynamicSize) {
  auto type = RankedTensorType::get({size}, b.getIndexType());
  Value empty = dynamicSize ? emptyTensor(b, loc, type, dynamicSize)
                            : emptyTensor(b, loc, type, {});
  Value zero = indexConstant(b, loc, 0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// Adds one to counts[e] for every (token, choice) sent to expert e.
Value countPerExpert(OpBuilder &b, Location loc, Value indices, Value tokens,
                     int64_t topK, int64_t experts) {
  Value counts = indexTensor(b, loc, experts, Value());
  return scf::ForOp::create(
             b, loc, indexConstant(b, loc, 0), tokens, indexConstant(b, loc, 1),
             ValueRange{counts},
             [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
               auto inner = scf::ForOp::create(
                   b, loc, indexConstant(b, loc, 0),
                   indexConstant(b, loc, topK), indexConstant(b, loc, 1),
                   carried,
                   [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
                     Value e = arith::IndexCastOp::create(
                         b, loc, b.getIndexType(),
                         tensor::ExtractOp::create(b, loc, indices,
                                                   ValueRange{t, j}));
                     Value count = tensor::ExtractOp::create(b, loc, acc[0],
                                                             ValueRange{e});
                     Value next = arith::AddIOp::create(
                         b, loc, count, indexConstant(b, loc, 1));
                     scf::YieldOp::create(
                         b, loc,
                         ValueRange{tensor::InsertOp::create(
                             b, loc, next, acc[0], ValueRange{e})});
                   });
               scf::YieldOp::create(b, loc, inner.getResults());
             })
      .getResult(0);
}

/// Exclusive prefix sum: where each expert's rows start.
Value exclusiveOffsets(OpBuilder &b, Location loc, Value counts,
                       int64_t experts) {
  Value offsets = indexTensor(b, loc, experts, Value());
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, experts),
      indexConstant(b, loc, 1), ValueRange{offsets, indexConstant(b, loc, 0)},
      [&](OpBuilder &b, Location loc, Value e, ValueRange carried) {
        Value updated = tensor::InsertOp::create(b, loc, carried[1], carried[0],
                                                 ValueRange{e});
        Value count = tensor::ExtractOp::create(b, loc, counts, ValueRange{e});
        scf::YieldOp::create(
            b, loc,
            ValueRange{updated,
                       arith::AddIOp::create(b, loc, carried[1], count)});
      });
  return loop.getResult(0);
}

/// order[p]: the (token * k + choice) pair in sorted position p; pairs of
/// one expert keep token order.
Value sortPairsByExpert(OpBuilder &b, Location loc, Value indices, Value tokens,
                        int64_t topK, Value offsets, Value pairs) {
  Value order = indexTensor(b, loc, ShapedType::kDynamic, pairs);
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), tokens, indexConstant(b, loc, 1),
      ValueRange{order, offsets},
      [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
        auto inner = scf::ForOp::create(
            b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, topK),
            indexConstant(b, loc, 1), carried,
            [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
              Value e = arith::IndexCastOp::create(
                  b, loc, b.getIndexType(),
                  tensor::ExtractOp::create(b, loc, indices, ValueRange{t, j}));
              Value cursor =
                  tensor::ExtractOp::create(b, loc, acc[1], ValueRange{e});
              Value pair = arith::AddIOp::create(
                  b, loc,
                  arith::MulIOp::create(b, loc, t, indexConstant(b, loc, topK)),
                  j);
              Value newOrder = tensor::InsertOp::create(b, loc, pair, acc[0],
                                                        ValueRange{cursor});
              Value newCursors = tensor::InsertOp::create(
                  b, loc,
                  arith::AddIOp::create(b, loc, cursor,
                                        indexConstant(b, loc, 1)),
                  acc[1], ValueRange{e});
              scf::YieldOp::create(b, loc, ValueRange{newOrder, newCursors});
            });
        scf::YieldOp::create(b, loc, inner.getResults());
      });
  return loop.getResult(0);
}

/// Expert `e`'s gate, up, SwiGLU and down over `input` (a row, or rows),
/// all on the calling thread: the share of one thread when the threads
/// share whole experts.
Value wholeExpert(OpBuilder &b, Location loc, ds::GroupedExpertsOp op, Value e,
                  Value input, const jikji::LoweringOptions &options) {
  bool quantized = !op.getScales().empty();
  auto project = [&](Value stacked, unsigned scaleIndex, Value x) {
    Value scales;
    ArrayRef<int64_t> block;
    if (quantized) {
      scales = expertMatrix(b, loc, op.getScales()[scaleIndex], e);
      block = *op.getBlockSize();
    }
    return weightContraction(b, loc, x, expertMatrix(b, loc, stacked, e),
                             scales, block, /*threaded=*/false, options);
  };
  Value activated =
      ds::SiluMulOp::create(b, loc, project(op.getGate(), 0, input),
                            project(op.getUp(), 1, input));
  return project(op.getDown(), 2, activated);
}

/// out[t] += w[t, j] * downRow, for the (token, choice) pair (t, j) that
/// `order` lists at `position` (pairs numbered t * k + j).
Value addPairRow(OpBuilder &b, Location loc, ds::GroupedExpertsOp op,
                 Value order, Value position, Value downRow,
                 Value accumulator) {
  Value k = indexConstant(b, loc, op.getWeights().getType().getDimSize(1));
  Value pair = tensor::ExtractOp::create(b, loc, order, ValueRange{position});
  Value t = arith::DivUIOp::create(b, loc, pair, k);
  Value j = arith::RemUIOp::create(b, loc, pair, k);
  Value weight =
      tensor::ExtractOp::create(b, loc, op.getWeights(), ValueRange{t, j});
  Value sum =
      addWeighted(b, loc, rowOf(b, loc, accumulator, t), downRow, weight);
  return withRow(b, loc, sum, accumulator, t);
}

/// The input rows in sorted order: sorted[p] = input[order[p] / k].
Value sortedRows(OpBuilder &b, Location loc, Value input, Value order,
                 Value pairs, int64_t topK) {
  int64_t hidden = cast<RankedTensorType>(input.getType()).getDimSize(1);
  auto sortedType =
      RankedTensorType::get({ShapedType::kDynamic, hidden}, b.getF32Type());
  return linalg::GenericOp::create(
             b, loc, sortedType, ValueRange{},
             ValueRange{emptyTensor(b, loc, sortedType, pairs)},
             ArrayRef<AffineMap>{b.getMultiDimIdentityMap(2)}, iterators(2),
             [&](OpBuilder &b, Location loc, ValueRange) {
               Value p = linalg::IndexOp::create(b, loc, 0);
               Value h = linalg::IndexOp::create(b, loc, 1);
               Value pair =
                   tensor::ExtractOp::create(b, loc, order, ValueRange{p});
               Value t = arith::DivUIOp::create(b, loc, pair,
                                                indexConstant(b, loc, topK));
               yieldValue(
                   b, loc,
                   tensor::ExtractOp::create(b, loc, input, ValueRange{t, h}));
             })
      .getResult(0);
}

/// The routed experts (grouped_experts, or moe_experts onto zeros) for
/// targets that run each element of a linalg op on its own thread (the
/// GPU), with no host code between the kernels and no per-expert launch:
/// every step is a linalg.generic whose elements need nothing from each
/// other, so that no kernel needs a barrier, an atomic or a count the host
/// would have to read.
template <typename ExpertsOp> class GroupedExpertsByElement {
public:
  GroupedExpertsByElement(OpBuilder &b, Location loc, ExpertsOp op,
                          Value accumulator)
      : b(b), loc(loc), op(op), accumulator(accumulator),
        topK(op.getWeights().getType().getDimSize(1)),
        experts(op.getGate().getType().getDimSize(0)) {}

  Value build() {
    Value tokens = tensor::DimOp::create(b, loc, op.getInput(), 0);
    Value pairs =
        arith::MulIOp::create(b, loc, tokens, indexConstant(b, loc, topK));
    // The permutation. Each element counts what it needs from the routing
    // itself: O(pairs) per thread, where one thread scanning and sorting
    // would take O(pairs) steps of memory latency in a row.
    Value counts = countPerExpert();
    Value offsets = exclusiveOffsets(counts);
    Value positions = sortedPositions(offsets, pairs);
    auto [order, rowExperts] = pairsInSortedOrder(positions, pairs);
    Value sorted = sortedRows(b, loc, op.getInput(), order, pairs, topK);
    // The products over all sorted rows at once, each row through its own
    // expert's weights (a read of the experts' pointer table in the
    // kernel): gate and up, the SwiGLU, down.
    bool quantized = !op.getScales().empty();
    Value gate = product(sorted, rowExperts, op.getGate(),
                         quantized ? op.getScales()[0] : Value());
    Value up = product(sorted, rowExperts, op.getUp(),
                       quantized ? op.getScales()[1] : Value());
    Value activated = ds::SiluMulOp::create(b, loc, gate, up);
    Value down = product(activated, rowExperts, op.getDown(),
                         quantized ? op.getScales()[2] : Value());
    return combine(down, positions);
  }

private:
  /// Expert of the pair (t, j), as an index.
  Value expertOf(OpBuilder &b, Location loc, Value t, Value j) {
    return arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        tensor::ExtractOp::create(b, loc, op.getIndices(), ValueRange{t, j}));
  }
  Value expertOfPair(OpBuilder &b, Location loc, Value pair) {
    Value k = indexConstant(b, loc, topK);
    return expertOf(b, loc, arith::DivUIOp::create(b, loc, pair, k),
                    arith::RemUIOp::create(b, loc, pair, k));
  }
  /// 1 where `condition` holds, else 0 (indices).
  Value oneIf(OpBuilder &b, Location loc, Value condition) {
    return arith::SelectOp::create(b, loc, condition, indexConstant(b, loc, 1),
                                   indexConstant(b, loc, 0));
  }

  /// counts[e]: the pairs sent to expert e; a thread per expert.
  Value countPerExpert() {
    MLIRContext *context = b.getContext();
    AffineExpr e = getAffineDimExpr(0, context), t = getAffineDimExpr(1, context),
               j = getAffineDimExpr(2, context);
    return linalg::GenericOp::create(
               b, loc, indexTensor(b, loc, experts, Value()).getType(),
               ValueRange{op.getIndices()},
               ValueRange{indexTensor(b, loc, experts, Value())},
               ArrayRef<AffineMap>{AffineMap::get(3, 0, {t, j}, context),
                                   AffineMap::get(3, 0, {e}, context)},
               iterators(1, 2),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 Value expert = arith::IndexCastOp::create(
                     b, loc, b.getIndexType(), args[0]);
                 Value same = arith::CmpIOp::create(
                     b, loc, arith::CmpIPredicate::eq, expert,
                     linalg::IndexOp::create(b, loc, 0));
                 yieldValue(b, loc,
                            arith::AddIOp::create(b, loc, args[1],
                                                  oneIf(b, loc, same)));
               })
        .getResult(0);
  }

  /// offsets[e] = Σ counts[f] over f < e: where expert e's rows start.
  Value exclusiveOffsets(Value counts) {
    MLIRContext *context = b.getContext();
    AffineExpr e = getAffineDimExpr(0, context), f = getAffineDimExpr(1, context);
    return linalg::GenericOp::create(
               b, loc, counts.getType(), ValueRange{counts},
               ValueRange{indexTensor(b, loc, experts, Value())},
               ArrayRef<AffineMap>{AffineMap::get(2, 0, {f}, context),
                                   AffineMap::get(2, 0, {e}, context)},
               iterators(1, 1),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 Value before = arith::CmpIOp::create(
                     b, loc, arith::CmpIPredicate::ult,
                     linalg::IndexOp::create(b, loc, 1),
                     linalg::IndexOp::create(b, loc, 0));
                 Value count = arith::SelectOp::create(
                     b, loc, before, args[0], indexConstant(b, loc, 0));
                 yieldValue(b, loc, arith::AddIOp::create(b, loc, args[1], count));
               })
        .getResult(0);
  }

  /// positions[q]: the sorted row of pair q = t * k + j, its expert's
  /// offset plus the earlier pairs of that expert (pairs of one expert
  /// keep token order, as on the CPU).
  Value sortedPositions(Value offsets, Value pairs) {
    auto type = RankedTensorType::get({ShapedType::kDynamic}, b.getIndexType());
    return linalg::GenericOp::create(
               b, loc, type, ValueRange{},
               ValueRange{emptyTensor(b, loc, type, pairs)},
               ArrayRef<AffineMap>{b.getMultiDimIdentityMap(1)}, iterators(1),
               [&](OpBuilder &b, Location loc, ValueRange) {
                 Value q = linalg::IndexOp::create(b, loc, 0);
                 Value e = expertOfPair(b, loc, q);
                 Value earlier =
                     scf::ForOp::create(
                         b, loc, indexConstant(b, loc, 0), q,
                         indexConstant(b, loc, 1),
                         ValueRange{indexConstant(b, loc, 0)},
                         [&](OpBuilder &b, Location loc, Value r,
                             ValueRange acc) {
                           Value same = arith::CmpIOp::create(
                               b, loc, arith::CmpIPredicate::eq,
                               expertOfPair(b, loc, r), e);
                           scf::YieldOp::create(
                               b, loc,
                               ValueRange{arith::AddIOp::create(
                                   b, loc, acc[0], oneIf(b, loc, same))});
                         })
                         .getResult(0);
                 Value offset =
                     tensor::ExtractOp::create(b, loc, offsets, ValueRange{e});
                 yieldValue(b, loc,
                            arith::AddIOp::create(b, loc, offset, earlier));
               })
        .getResult(0);
  }

  /// order[p]: the pair in sorted row p (the inverse of `positions`), and
  /// rowExperts[p]: its expert.
  std::pair<Value, Value> pairsInSortedOrder(Value positions, Value pairs) {
    auto type = RankedTensorType::get({ShapedType::kDynamic}, b.getIndexType());
    AffineMap identity = b.getMultiDimIdentityMap(1);
    auto inverse = linalg::GenericOp::create(
        b, loc, TypeRange{type, type}, ValueRange{},
        ValueRange{emptyTensor(b, loc, type, pairs),
                   emptyTensor(b, loc, type, pairs)},
        ArrayRef<AffineMap>{identity, identity}, iterators(1),
        [&](OpBuilder &b, Location loc, ValueRange) {
          Value p = linalg::IndexOp::create(b, loc, 0);
          Value pair =
              scf::ForOp::create(
                  b, loc, indexConstant(b, loc, 0), pairs,
                  indexConstant(b, loc, 1),
                  ValueRange{indexConstant(b, loc, 0)},
                  [&](OpBuilder &b, Location loc, Value q, ValueRange found) {
                    Value here = arith::CmpIOp::create(
                        b, loc, arith::CmpIPredicate::eq,
                        tensor::ExtractOp::create(b, loc, positions,
                                                  ValueRange{q}),
                        p);
                    scf::YieldOp::create(
                        b, loc,
                        ValueRange{arith::SelectOp::create(b, loc, here, q,
                                                           found[0])});
                  })
                  .getResult(0);
          linalg::YieldOp::create(
              b, loc, ValueRange{pair, expertOfPair(b, loc, pair)});
        });
    return {inverse.getResult(0), inverse.getResult(1)};
  }

  /// result[p, n] = Σ_c rows[p, c] · W_e[n, c] for e = rowExperts[p]: the
  /// weight read in the body through expert e's matrix of the stacked
  /// parameter (the artifact binds it to e's pointer in the table), times
  /// its block scale for FP8.
  Value product(Value rows, Value rowExperts, Value stacked, Value scales) {
    MLIRContext *context = b.getContext();
    auto stackedType = cast<RankedTensorType>(stacked.getType());
    int64_t features = stackedType.getDimSize(1);
    auto resultType =
        RankedTensorType::get({ShapedType::kDynamic, features}, b.getF32Type());
    AffineExpr p = getAffineDimExpr(0, context), n = getAffineDimExpr(1, context),
               c = getAffineDimExpr(2, context);
    ArrayRef<int64_t> block;
    if (scales)
      block = *op.getBlockSize();
    Value zeros = filledTensor(b, loc, resultType,
                               tensor::DimOp::create(b, loc, rows, 0).getResult(),
                               0.0);
    return linalg::GenericOp::create(
               b, loc, resultType, ValueRange{rows, rowExperts},
               ValueRange{zeros},
               ArrayRef<AffineMap>{AffineMap::get(3, 0, {p, c}, context),
                                   AffineMap::get(3, 0, {p}, context),
                                   AffineMap::get(3, 0, {p, n}, context)},
               iterators(2, 1),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 Value e = args[1];
                 Value feature = linalg::IndexOp::create(b, loc, 1);
                 Value column = linalg::IndexOp::create(b, loc, 2);
                 Value w = widenToF32(
                     b, loc,
                     tensor::ExtractOp::create(
                         b, loc, expertMatrix(b, loc, stacked, e),
                         ValueRange{feature, column}));
                 if (scales) {
                   Value scale = tensor::ExtractOp::create(
                       b, loc, expertMatrix(b, loc, scales, e),
                       ValueRange{arith::DivUIOp::create(
                                      b, loc, feature,
                                      indexConstant(b, loc, block[0])),
                                  arith::DivUIOp::create(
                                      b, loc, column,
                                      indexConstant(b, loc, block[1]))});
                   w = arith::MulFOp::create(b, loc, w, scale);
                 }
                 arith::FastMathFlagsAttr fastmath = contract(b);
                 Value term = arith::MulFOp::create(b, loc, args[0], w, fastmath);
                 yieldValue(b, loc,
                            arith::AddFOp::create(b, loc, args[2], term,
                                                  fastmath));
               })
        .getResult(0);
  }

  /// out[t, h] = accumulator[t, h] + Σ_j w[t, j] · down[positions[t k + j], h]:
  /// a thread per output element gathers its token's rows, so no two
  /// threads add into one element.
  Value combine(Value down, Value positions) {
    MLIRContext *context = b.getContext();
    AffineExpr t = getAffineDimExpr(0, context), h = getAffineDimExpr(1, context),
               j = getAffineDimExpr(2, context);
    return linalg::GenericOp::create(
               b, loc, op.getType(), ValueRange{op.getWeights()},
               ValueRange{accumulator},
               ArrayRef<AffineMap>{AffineMap::get(3, 0, {t, j}, context),
                                   AffineMap::get(3, 0, {t, h}, context)},
               iterators(2, 1),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 Value pair = arith::AddIOp::create(
                     b, loc,
                     arith::MulIOp::create(b, loc,
                                           linalg::IndexOp::create(b, loc, 0),
                                           indexConstant(b, loc, topK)),
                     linalg::IndexOp::create(b, loc, 2));
                 Value row = tensor::ExtractOp::create(b, loc, positions,
                                                       ValueRange{pair});
                 Value value = tensor::ExtractOp::create(
                     b, loc, down,
                     ValueRange{row, linalg::IndexOp::create(b, loc, 1)});
                 Value scaled = arith::MulFOp::create(b, loc, value, args[0]);
                 yieldValue(b, loc,
                            arith::AddFOp::create(b, loc, args[1], scaled));
               })
        .getResult(0);
  }

  OpBuilder &b;
  Location loc;
  ExpertsOp op;
  Value accumulator;
  int64_t topK;
  int64_t experts;
};

/// Σ_j w[t, j] · SwiGLU(x[t]; expert idx[t, j]) for every token, as written.
struct MoeExpertsPattern final : OpRewritePattern<ds::MoeExpertsOp> {
  MoeExpertsPattern(MLIRContext *context, const jikji::LoweringOptions &options)
      : OpRewritePattern(context), options(options) {}
  jikji::LoweringOptions options;
  LogicalResult matchAndRewrite(ds::MoeExpertsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    RankedTensorType type = op.getType();
    Value input = op.getInput();
    Value tokens = tensor::DimOp::create(b, loc, input, 0);
    Value zeros = filledTensor(b, loc, type, tokens, 0.0);
    // Without the CPU kernels (the GPU), no loop may run outside a linalg
    // op: the grouped path's kernels, onto zeros.
    if (!options.cpuKernels) {
      rewriter.replaceOp(op, GroupedExpertsByElement<ds::MoeExpertsOp>(
                                 b, loc, op, zeros)
                                 .build());
      return success();
    }
    int64_t topK = op.getWeights().getType().getDimSize(1);

    auto perToken = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), tokens, indexConstant(b, loc, 1),
        ValueRange{zeros},
        [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
          Value x = rowOf(b, loc, input, t);
          auto perChoice = scf::ForOp::create(
              b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, topK),
              indexConstant(b, loc, 1),
              ValueRange{rowOf(b, loc, carried[0], t)},
              [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
                Value id = tensor::ExtractOp::create(b, loc, op.getIndices(),
                                                     ValueRange{t, j});
                Value e =
                    arith::IndexCastOp::create(b, loc, b.getIndexType(), id);
                Value weight = tensor::ExtractOp::create(
                    b, loc, op.getWeights(), ValueRange{t, j});
                // Expert e's weights, and for FP8 its block scales.
                auto project = [&](Value stacked, unsigned scaleIndex,
                                   Value vector) {
                  Value scales;
                  ArrayRef<int64_t> block;
                  if (!op.getScales().empty()) {
                    scales =
                        expertMatrix(b, loc, op.getScales()[scaleIndex], e);
                    block = *op.getBlockSize();
                  }
                  return weightContraction(
                      b, loc, vector, expertMatrix(b, loc, stacked, e), scales,
                      block, /*threaded=*/true, options);
                };
                Value gate = project(op.getGate(), 0, x);
                Value up = project(op.getUp(), 1, x);
                Value activated = ds::SiluMulOp::create(b, loc, gate, up);
                Value down = project(op.getDown(), 2, activated);
                Value sum = addWeighted(b, loc, acc[0], down, weight);
                scf::YieldOp::create(b, loc, ValueRange{sum});
              });
          Value updated =
              withRow(b, loc, perChoice.getResult(0), carried[0], t);
          scf::YieldOp::create(b, loc, ValueRange{updated});
        });
    rewriter.replaceOp(op, perToken.getResults());
    return success();
  }
};

/// One token's routed experts (a decode step), the threads sharing the
/// experts: each expert's gate, up, SwiGLU and down run whole on one
/// thread, into row j of a [k, hidden] buffer, and the weighted sum onto
/// the accumulator follows. A token's k experts are distinct and each
/// takes one row, so with a thread count that divides k the threads read
/// equal bytes; and the step forks once for its experts where sharing each
/// expert's products forked 2k times.
Value oneTokenExperts(OpBuilder &b, Location loc, ds::GroupedExpertsOp op,
                      const jikji::LoweringOptions &options) {
  int64_t hidden = op.getType().getDimSize(1);
  int64_t topK = op.getWeights().getType().getDimSize(1);
  Value first = indexConstant(b, loc, 0);
  // Every expert's gate and up read the same x: rounded once, if at all.
  Value x = roundedForProduct(b, loc, rowOf(b, loc, op.getInput(), first),
                              op.getGate(), /*threaded=*/false, options);
  auto rowsType = RankedTensorType::get({topK, hidden}, b.getF32Type());
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(topK)},
      ValueRange{emptyTensor(b, loc, rowsType, {})}, std::nullopt,
      [&](OpBuilder &, Location, ValueRange arguments) {
        Value j = arguments[0];
        Value e = arith::IndexCastOp::create(
            b, loc, b.getIndexType(),
            tensor::ExtractOp::create(b, loc, op.getIndices(),
                                      ValueRange{first, j}));
        Value down = wholeExpert(b, loc, op, e, x, options);
        auto terminator = scf::InParallelOp::create(b, loc);
        b.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(
            b, loc, down, arguments[1],
            ArrayRef<OpFoldResult>{j, b.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(hidden)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      });
  b.setInsertionPointAfter(forall);
  Value rows = forall.getResult(0);
  auto sum = scf::ForOp::create(
      b, loc, first, indexConstant(b, loc, topK), indexConstant(b, loc, 1),
      ValueRange{rowOf(b, loc, op.getAccumulator(), first)},
      [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
        Value weight = tensor::ExtractOp::create(b, loc, op.getWeights(),
                                                 ValueRange{first, j});
        scf::YieldOp::create(
            b, loc,
            addWeighted(b, loc, acc[0], rowOf(b, loc, rows, j), weight));
      });
  return withRow(b, loc, sum.getResult(0), op.getAccumulator(), first);
}

/// Tokens grouped by expert: count, offsets, sort, one pass per expert over
/// its rows, weighted scatter onto the accumulator; on the CPU, one token
/// and a few tokens take their experts whole on threads.
struct GroupedExpertsPattern final : OpRewritePattern<ds::GroupedExpertsOp> {
  GroupedExpertsPattern(MLIRContext *context,
                        const jikji::LoweringOptions &options)
      : OpRewritePattern(context), options(options) {}
  jikji::LoweringOptions options;
  LogicalResult matchAndRewrite(ds::GroupedExpertsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    // On the CPU, one token (a decode step) takes its experts whole on
    // threads, and so do a few tokens (a batched decode step: a few rows
    // per expert); more share each expert's products, whatever the
    // experts' token counts. (A GPU maps the outermost parallel loop to its
    // threads: k of them, each with a whole expert, would leave it idle.)
    if (!options.cpuKernels) {
      rewriter.replaceOp(op, GroupedExpertsByElement<ds::GroupedExpertsOp>(
                                 b, loc, op, op.getAccumulator())
                                 .build());
      return success();
    }
    Value tokens = tensor::DimOp::create(b, loc, op.getInput(), 0);
    Value single = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         tokens, indexConstant(b, loc, 1));
    // A batched decode step: few rows per expert (kFewRowsPerExpert or
    // fewer on average).
    int64_t topK = op.getWeights().getType().getDimSize(1);
    int64_t experts = op.getGate().getType().getDimSize(0);
    Value few = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ule,
        arith::MulIOp::create(b, loc, tokens, indexConstant(b, loc, topK)),
        indexConstant(b, loc, experts * kFewRowsPerExpert));
    auto expertsOut = scf::IfOp::create(
        b, loc, single,
        [&](OpBuilder &, Location) {
          scf::YieldOp::create(b, loc,
                               oneTokenExperts(b, loc, op, options));
        },
        [&](OpBuilder &, Location) {
          Grouping grouping = group(b, loc, op);
          auto byCount = scf::IfOp::create(
              b, loc, few,
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, loc,
                                     fewTokensExperts(b, loc, op, grouping));
              },
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, loc,
                                     groupedExperts(b, loc, op, grouping));
              });
          scf::YieldOp::create(b, loc, byCount.getResults());
        });
    rewriter.replaceOp(op, expertsOut.getResults());
    return success();
  }

  /// The (token, choice) pairs sorted by expert: how many each expert
  /// takes, where its rows start, which pair each sorted row is, and the
  /// input rows in that order.
  struct Grouping {
    Value pairs, counts, offsets, order, sorted;
  };
  Grouping group(OpBuilder &b, Location loc, ds::GroupedExpertsOp op) const {
    Value input = op.getInput();
    int64_t topK = op.getWeights().getType().getDimSize(1);
    int64_t experts = op.getGate().getType().getDimSize(0);
    Value tokens = tensor::DimOp::create(b, loc, input, 0);
    Grouping g;
    g.pairs =
        arith::MulIOp::create(b, loc, tokens, indexConstant(b, loc, topK));
    g.counts = countPerExpert(b, loc, op.getIndices(), tokens, topK, experts);
    g.offsets = exclusiveOffsets(b, loc, g.counts, experts);
    g.order = sortPairsByExpert(b, loc, op.getIndices(), tokens, topK,
                                g.offsets, g.pairs);
    g.sorted = sortedRows(b, loc, input, g.order, g.pairs, topK);
    return g;
  }

  /// Rows [offset, offset + count) of a [pairs, n] matrix.
  static Value rowsOf(OpBuilder &b, Location loc, Value matrix, Value offset,
                      Value count) {
    int64_t width = cast<RankedTensorType>(matrix.getType()).getDimSize(1);
    auto type = RankedTensorType::get(
        {ShapedType::kDynamic, width},
        cast<RankedTensorType>(matrix.getType()).getElementType());
    return tensor::ExtractSliceOp::create(
        b, loc, type, matrix,
        ArrayRef<OpFoldResult>{offset, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{count, b.getIndexAttr(width)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  }

  /// A batched decode step's experts, the threads sharing the experts that
  /// have rows: each one's gate, up, SwiGLU and down run whole on one
  /// thread over all of its rows (1-3 in a step of 16 tokens, where the
  /// products are limited by reading the weights), into its rows of a
  /// [pairs, hidden] buffer; a loop then adds each row, weighted, onto its
  /// token's sum, in the grouped path's order. One fork per layer, where
  /// sharing each expert's products forked twice per expert.
  Value fewTokensExperts(OpBuilder &b, Location loc, ds::GroupedExpertsOp op,
                         const Grouping &g) const {
    int64_t hidden = op.getType().getDimSize(1);
    int64_t experts = op.getGate().getType().getDimSize(0);
    // Every expert's gate and up read rows of `sorted`: rounded once, if
    // at all.
    Value sorted = roundedForProduct(b, loc, g.sorted, op.getGate(),
                                     /*threaded=*/false, options);
    // used[u]: the u-th expert with rows, so that the threads' shares of
    // the forall below are experts that work.
    auto used = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, experts),
        indexConstant(b, loc, 1),
        ValueRange{indexTensor(b, loc, experts, Value()),
                   indexConstant(b, loc, 0)},
        [&](OpBuilder &b, Location loc, Value e, ValueRange carried) {
          Value count =
              tensor::ExtractOp::create(b, loc, g.counts, ValueRange{e});
          Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                            count, indexConstant(b, loc, 0));
          auto append = scf::IfOp::create(
              b, loc, any,
              [&](OpBuilder &b, Location loc) {
                Value list = tensor::InsertOp::create(b, loc, e, carried[0],
                                                      ValueRange{carried[1]});
                Value next = arith::AddIOp::create(b, loc, carried[1],
                                                   indexConstant(b, loc, 1));
                scf::YieldOp::create(b, loc, ValueRange{list, next});
              },
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, carried);
              });
          scf::YieldOp::create(b, loc, append.getResults());
        });
    Value usedList = used.getResult(0), usedCount = used.getResult(1);

    auto rowsType =
        RankedTensorType::get({ShapedType::kDynamic, hidden}, b.getF32Type());
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{usedCount},
        ValueRange{emptyTensor(b, loc, rowsType, g.pairs)}, std::nullopt,
        [&](OpBuilder &, Location, ValueRange arguments) {
          Value e = tensor::ExtractOp::create(b, loc, usedList,
                                              ValueRange{arguments[0]});
          Value count =
              tensor::ExtractOp::create(b, loc, g.counts, ValueRange{e});
          Value offset =
              tensor::ExtractOp::create(b, loc, g.offsets, ValueRange{e});
          Value down = wholeExpert(
              b, loc, op, e, rowsOf(b, loc, sorted, offset, count), options);
          auto terminator = scf::InParallelOp::create(b, loc);
          b.setInsertionPointToStart(terminator.getBody());
          tensor::ParallelInsertSliceOp::create(
              b, loc, down, arguments[1],
              ArrayRef<OpFoldResult>{offset, b.getIndexAttr(0)},
              ArrayRef<OpFoldResult>{count, b.getIndexAttr(hidden)},
              ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
        });
    b.setInsertionPointAfter(forall);
    Value downRows = forall.getResult(0);

    // out[t] += w[t, j] * down[p] for the pair (t, j) of every sorted row
    // p: by expert, then token, as the grouped path adds them.
    auto scatter = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), g.pairs, indexConstant(b, loc, 1),
        ValueRange{op.getAccumulator()},
        [&](OpBuilder &b, Location loc, Value p, ValueRange acc) {
          scf::YieldOp::create(b, loc,
                               addPairRow(b, loc, op, g.order, p,
                                          rowOf(b, loc, downRows, p), acc[0]));
        });
    return scatter.getResult(0);
  }

  Value groupedExperts(OpBuilder &b, Location loc, ds::GroupedExpertsOp op,
                       const Grouping &g) const {
    int64_t experts = op.getGate().getType().getDimSize(0);
    Value counts = g.counts, offsets = g.offsets, order = g.order,
          sorted = g.sorted;

    bool quantized = !op.getScales().empty();
    // Expert e over its `count` rows from `offset` of the sorted input:
    // gate and up with the SwiGLU as their epilogue, down, and the
    // weighted scatter onto `accumulator`.
    auto runExpert = [&](OpBuilder &b, Location loc, Value e, Value count,
                         Value offset, Value accumulator) -> ValueRange {
      Value rows = rowsOf(b, loc, sorted, offset, count);
      auto scalesOf = [&](unsigned index) {
        return quantized ? expertMatrix(b, loc, op.getScales()[index], e)
                         : Value();
      };
      ArrayRef<int64_t> block;
      if (quantized)
        block = *op.getBlockSize();
      Value activated =
          swigluProduct(b, loc, rows, expertMatrix(b, loc, op.getGate(), e),
                        expertMatrix(b, loc, op.getUp(), e), scalesOf(0),
                        scalesOf(1), block, options);
      Value down = weightContraction(
          b, loc, activated, expertMatrix(b, loc, op.getDown(), e), scalesOf(2),
          block, /*threaded=*/true, options);

      // Scatter: out[t] += w[t, j] * down[p] for the pair at offset + p.
      auto scatter = scf::ForOp::create(
          b, loc, indexConstant(b, loc, 0), count, indexConstant(b, loc, 1),
          ValueRange{accumulator},
          [&](OpBuilder &b, Location loc, Value p, ValueRange acc) {
            Value position = arith::AddIOp::create(b, loc, offset, p);
            scf::YieldOp::create(b, loc,
                                 addPairRow(b, loc, op, order, position,
                                            rowOf(b, loc, down, p), acc[0]));
          });
      return scatter.getResults();
    };
    auto perExpert = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, experts),
        indexConstant(b, loc, 1), ValueRange{op.getAccumulator()},
        [&](OpBuilder &b, Location loc, Value e, ValueRange carried) {
          Value count =
              tensor::ExtractOp::create(b, loc, counts, ValueRange{e});
          Value offset =
              tensor::ExtractOp::create(b, loc, offsets, ValueRange{e});
          // An expert without tokens is skipped whole: its products would
          // still fork threads for zero rows.
          Value used = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                             count, indexConstant(b, loc, 0));
          auto expert = scf::IfOp::create(
              b, loc, used,
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(
                    b, loc, runExpert(b, loc, e, count, offset, carried[0]));
              },
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, carried);
              });
          scf::YieldOp::create(b, loc, expert.getResults());
        });
    return perExpert.getResult(0);
  }
};

} // namespace

void jikji::populateMoeToLinalgPatterns(RewritePatternSet &patterns,
                                        const LoweringOptions &options) {
  patterns.add<FusedRouterPattern>(patterns.getContext());
  patterns.add<MoeRouterPattern, MoeExpertsPattern, GroupedExpertsPattern>(
      patterns.getContext(), options);
}
