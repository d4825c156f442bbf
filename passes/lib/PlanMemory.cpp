// lathe-plan-memory: see Passes.td.
#include "lathe/passes/Passes.h"

#include "llvm/ADT/DenseMap.h"

namespace lathe::passes {
#define GEN_PASS_DEF_PLANMEMORY
#include "lathe/passes/Passes.h.inc"
}  // namespace lathe::passes

using namespace mlir;
namespace lk = lathe::kernel;

namespace {

constexpr int64_t kAlignment = 64;

/// A value that owns an arena buffer: its lifetime in op indices and size.
struct Buffer {
  OpResult owner;
  int64_t first = 0, last = 0;
  int64_t bytes = 0;
  int64_t offset = -1;
};

/// Result 0 of a view or an in-place kernel shares operand 0's storage.
bool aliasesOperand(OpResult result) {
  Operation* op = result.getOwner();
  return result.getResultNumber() == 0 && (isa<lk::ViewOp>(op) || op->hasTrait<lk::InPlace>());
}

int64_t elementBytes(Type type) { return (type.getIntOrFloatBitWidth() + 7) / 8; }

struct PlanMemoryPass : lathe::passes::impl::PlanMemoryBase<PlanMemoryPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn.getBody().hasOneBlock()) {
      fn.emitOpError("memory planning needs a single-block function");
      return signalPassFailure();
    }
    int64_t max_batch = fn->getAttrOfType<IntegerAttr>(lathe::ir::kMaxBatchAttr).getInt();
    int64_t max_seq = fn->getAttrOfType<IntegerAttr>(lathe::ir::kMaxSeqAttr).getInt();

    // The value that owns the storage each value lives in (views and in-place
    // results share their operand's). Every result of a kernel is a buffer.
    llvm::DenseMap<Value, Value> root;
    llvm::DenseMap<Value, Buffer> buffers;
    llvm::DenseMap<Operation*, int64_t> index;
    Block& block = fn.getBody().front();
    int64_t position = 0;
    for (Operation& op : block) {
      index[&op] = position++;
      if (!isa<lk::KernelDialect>(op.getDialect())) continue;
      for (OpResult result : op.getResults()) {
        if (aliasesOperand(result)) {
          Value source = op.getOperand(0);
          root[result] = root.lookup(source) ? root.lookup(source) : source;
          continue;
        }
        root[result] = result;
        auto type = cast<RankedTensorType>(result.getType());
        int64_t bytes = lathe::passes::symbolicProduct(type, 0, type.getRank()).at(max_batch, max_seq) *
                        elementBytes(type.getElementType());
        buffers[result] = {result, index[&op], index[&op], llvm::alignTo(bytes, kAlignment), -1};
      }
    }
    if (failed(checkInPlaceOperandsDie(block, index, root))) return signalPassFailure();

    for (Operation& op : block)
      for (Value operand : op.getOperands()) {
        auto it = buffers.find(root.lookup(operand));
        if (it != buffers.end()) it->second.last = std::max(it->second.last, index[&op]);
      }

    // Returned values go to the output buffers, not the arena.
    llvm::DenseMap<Operation*, SmallVector<int64_t>> outputs;
    Operation* terminator = block.getTerminator();
    for (auto [i, value] : llvm::enumerate(terminator->getOperands())) {
      auto it = buffers.find(root.lookup(value));
      if (it == buffers.end()) {
        terminator->emitOpError("returns a value not computed by a kernel");
        return signalPassFailure();
      }
      OpResult owner = it->second.owner;
      auto& slots = outputs.try_emplace(owner.getOwner(), owner.getOwner()->getNumResults(), -1).first->second;
      if (slots[owner.getResultNumber()] >= 0) {
        terminator->emitOpError("returns the same buffer twice (results ") << slots[owner.getResultNumber()] << " and " << i << ")";
        return signalPassFailure();
      }
      slots[owner.getResultNumber()] = i;
      buffers.erase(it);
    }
    for (auto& [op, slots] : outputs) lk::setPlannedValues(op, lk::kOutputAttr, slots);

    int64_t arena = assignOffsets(buffers);
    llvm::DenseMap<Operation*, SmallVector<int64_t>> offsets;
    for (auto& [value, buffer] : buffers) {
      Operation* op = buffer.owner.getOwner();
      offsets.try_emplace(op, op->getNumResults(), -1).first->second[buffer.owner.getResultNumber()] = buffer.offset;
    }
    for (auto& [op, slots] : offsets) lk::setPlannedValues(op, lk::kOffsetAttr, slots);
    fn->setAttr(lk::kArenaBytesAttr, IntegerAttr::get(IntegerType::get(&getContext(), 64), arena));
  }

  /// An in-place kernel overwrites its operand's storage, so no value that
  /// lives in that storage and was defined before it may be read afterwards.
  LogicalResult checkInPlaceOperandsDie(Block& block, llvm::DenseMap<Operation*, int64_t>& index,
                                        llvm::DenseMap<Value, Value>& root) {
    for (Operation& op : block) {
      if (!op.hasTrait<lk::InPlace>()) continue;
      Value storage = root.lookup(op.getResult(0));
      for (auto& [value, value_root] : root) {
        if (value_root != storage || !value.getDefiningOp() || index[value.getDefiningOp()] >= index[&op]) continue;
        for (Operation* user : value.getUsers())
          if (index[user] > index[&op])
            return op.emitOpError("overwrites a value that is still read later by ") << user->getName();
      }
    }
    return success();
  }

  /// Greedy by size: largest buffers first, each at the lowest offset that
  /// does not overlap a placed buffer whose lifetime intersects it.
  static int64_t assignOffsets(llvm::DenseMap<Value, Buffer>& buffers) {
    std::vector<Buffer*> order;
    for (auto& entry : buffers) order.push_back(&entry.second);
    std::sort(order.begin(), order.end(), [](Buffer* a, Buffer* b) {
      return a->bytes != b->bytes ? a->bytes > b->bytes : a->first < b->first;
    });
    std::vector<Buffer*> placed;
    int64_t arena = 0;
    for (Buffer* buffer : order) {
      std::vector<std::pair<int64_t, int64_t>> busy;
      for (Buffer* other : placed)
        if (other->first <= buffer->last && buffer->first <= other->last)
          busy.push_back({other->offset, other->offset + other->bytes});
      std::sort(busy.begin(), busy.end());
      int64_t offset = 0;
      for (auto [begin, end] : busy) {
        if (offset + buffer->bytes <= begin) break;
        offset = std::max(offset, end);
      }
      buffer->offset = offset;
      arena = std::max(arena, offset + buffer->bytes);
      placed.push_back(buffer);
    }
    return arena;
  }
};

}  // namespace
