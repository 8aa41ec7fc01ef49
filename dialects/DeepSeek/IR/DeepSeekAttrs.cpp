//===- DeepSeekAttrs.cpp - deepseek attributes and enums ------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "dialects/DeepSeek/IR/DeepSeekAttrs.h"
#include "dialects/DeepSeek/IR/DeepSeekDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace jikji::deepseek;

#include "dialects/DeepSeek/IR/DeepSeekEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/DeepSeek/IR/DeepSeekAttrs.cpp.inc"

void DeepSeekDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/DeepSeek/IR/DeepSeekAttrs.cpp.inc"
      >();
}

LogicalResult RopeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               APFloat thetaValue, APFloat factorValue,
                               int64_t originalMaxPosition,
                               APFloat betaFastValue, APFloat betaSlowValue,
                               APFloat mscale, APFloat mscaleAllDim) {
  double theta = thetaValue.convertToDouble();
  double factor = factorValue.convertToDouble();
  double betaFast = betaFastValue.convertToDouble();
  double betaSlow = betaSlowValue.convertToDouble();
  if (!(theta > 0))
    return emitError() << "rope theta must be positive, found " << theta;
  if (!(factor >= 1))
    return emitError() << "rope factor must be at least 1, found " << factor;
  if (originalMaxPosition <= 0)
    return emitError() << "rope original_max_position must be positive, found "
                       << originalMaxPosition;
  if (!(betaFast > 0) || !(betaSlow > 0))
    return emitError() << "rope beta_fast and beta_slow must be positive";
  return success();
}
