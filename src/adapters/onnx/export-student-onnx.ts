import { invalidRequest } from '../../core/errors.js';
import type { StudentWeights } from './student-weights.js';
import { AttributeType, ModelProto, ONNX_IR_VERSION, ONNX_OPSET, TensorDataType } from './onnx-proto.js';

// Turns trained student weights into an ONNX model (opset 17) that onnxruntime runs exactly as
// the TypeScript forward pass does:
//
//   input_ids int64 [batch, seq], mask float [batch, seq]   (padding: id 0 with mask 0)
//   Gather(embedding) → ×mask → ReduceSum(seq) ÷ max(ΣReduceSum(mask), 1)   = mean of the bag
//   [→ MatMul/Add → Relu]  → MatMul/Add → logits → Softmax → probabilities
//
// ONNX has no EmbeddingBag op; the padded ids + mask form computes the same mean and batches.

export const STUDENT_INPUTS = { ids: 'input_ids', mask: 'mask' } as const;
export const STUDENT_OUTPUTS = { logits: 'logits', probabilities: 'probabilities' } as const;

export interface ExportOptions {
  /** Stored in the model's metadata_props (e.g. task, version). */
  metadata?: Record<string, string>;
  producerVersion?: string;
}

export function floatTensor(name: string, dims: number[], data: Float32Array) {
  // raw_data is little-endian by the ONNX spec; copy so the proto owns exactly these bytes.
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return { name, dims, dataType: TensorDataType.FLOAT, rawData: bytes };
}

export function int64Tensor(name: string, values: number[]) {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], dataType: TensorDataType.INT64, rawData: bytes };
}

export const valueInfo = (name: string, elemType: number, dims: (number | string)[]) => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

export const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({
  opType,
  input,
  output,
  name: `${opType}_${output[0]}`,
  attribute,
});

function checkConvWeights(w: StudentWeights): boolean {
  const conv = w.conv!;
  const D = w.embeddingDim;
  const C = w.labels?.length ?? 0;
  const F = conv.filters;
  return (
    C >= 2 &&
    Number.isInteger(F) &&
    F > 0 &&
    conv.windows.length > 0 &&
    conv.weights.length === conv.windows.length &&
    conv.biases.length === conv.windows.length &&
    conv.windows.every((k, i) => Number.isInteger(k) && k > 0 && conv.weights[i]!.length === F * D * k && conv.biases[i]!.length === F) &&
    (w.featurizer.sequence_pad_to ?? 0) >= Math.max(...conv.windows) &&
    w.embedding.length === (w.featurizer.buckets + 1) * D &&
    w.outputWeight.length === conv.windows.length * F * C &&
    w.outputBias.length === C
  );
}

export function checkStudentWeights(w: StudentWeights): void {
  if (w.conv) {
    if (!checkConvWeights(w)) throw invalidRequest('Student weights are inconsistent with their declared shapes.', 'weights');
    return;
  }
  const C = w.labels?.length ?? 0;
  const D = w.embeddingDim;
  const H = w.hiddenSize;
  const In = H > 0 ? H : D;
  const ok =
    C >= 2 &&
    Number.isInteger(D) &&
    D > 0 &&
    Number.isInteger(H) &&
    H >= 0 &&
    w.embedding instanceof Float32Array &&
    w.embedding.length === w.featurizer.buckets * D &&
    w.outputWeight instanceof Float32Array &&
    w.outputWeight.length === In * C &&
    w.outputBias instanceof Float32Array &&
    w.outputBias.length === C &&
    (H === 0 || (w.hiddenWeight?.length === D * H && w.hiddenBias?.length === H));
  if (!ok) throw invalidRequest('Student weights are inconsistent with their declared shapes.', 'weights');
}

interface Tensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}
type Graph = { initializer: Tensor[]; nodes: ReturnType<typeof node>[] };

/** Embedding bag: mean of the masked rows → [ReLU layer] → output. */
function bagGraph(w: StudentWeights): Graph {
  const C = w.labels.length;
  const D = w.embeddingDim;
  const H = w.hiddenSize;
  const In = H > 0 ? H : D;

  const initializer: Tensor[] = [
    floatTensor('embedding', [w.featurizer.buckets, D], w.embedding),
    floatTensor('output_weight', [In, C], w.outputWeight),
    floatTensor('output_bias', [C], w.outputBias),
    int64Tensor('axis_seq', [1]),
    int64Tensor('axis_feature', [2]),
    floatTensor('one', [1], new Float32Array([1])),
  ];
  const nodes = [
    node('Gather', ['embedding', STUDENT_INPUTS.ids], ['gathered'], [{ name: 'axis', type: AttributeType.INT, i: 0 }]),
    node('Unsqueeze', [STUDENT_INPUTS.mask, 'axis_feature'], ['mask3']),
    node('Mul', ['gathered', 'mask3'], ['masked']),
    node('ReduceSum', ['masked', 'axis_seq'], ['summed'], [{ name: 'keepdims', type: AttributeType.INT, i: 0 }]),
    node('ReduceSum', [STUDENT_INPUTS.mask, 'axis_seq'], ['count'], [{ name: 'keepdims', type: AttributeType.INT, i: 1 }]),
    // An input with no features has count 0: divide by 1 instead, giving the zero vector as the TS pass does.
    node('Max', ['count', 'one'], ['count_safe']),
    node('Div', ['summed', 'count_safe'], ['pooled']),
  ];
  let features = 'pooled';
  if (H > 0) {
    initializer.push(floatTensor('hidden_weight', [D, H], w.hiddenWeight!), floatTensor('hidden_bias', [H], w.hiddenBias!));
    nodes.push(
      node('MatMul', ['pooled', 'hidden_weight'], ['hidden_mm']),
      node('Add', ['hidden_mm', 'hidden_bias'], ['hidden_pre']),
      node('Relu', ['hidden_pre'], ['hidden']),
    );
    features = 'hidden';
  }
  nodes.push(node('MatMul', [features, 'output_weight'], ['output_mm']));
  return { initializer, nodes };
}

/**
 * Convolutional student: Gather the word embeddings (×mask), to [batch, dim, seq], one Conv per
 * window (weights [filters, dim, k]), ReduceMax over positions, Concat, Relu, then the output
 * layer. Serving pads ids to the widest window (the featurizer does), so every Conv has output.
 */
function convGraph(w: StudentWeights): Graph {
  const conv = w.conv!;
  const C = w.labels.length;
  const D = w.embeddingDim;
  const F = conv.filters;
  const initializer: Tensor[] = [
    floatTensor('embedding', [w.featurizer.buckets + 1, D], w.embedding),
    floatTensor('output_weight', [conv.windows.length * F, C], w.outputWeight),
    floatTensor('output_bias', [C], w.outputBias),
    int64Tensor('axis_feature', [2]),
  ];
  const nodes = [
    node('Gather', ['embedding', STUDENT_INPUTS.ids], ['gathered'], [{ name: 'axis', type: AttributeType.INT, i: 0 }]),
    node('Unsqueeze', [STUDENT_INPUTS.mask, 'axis_feature'], ['mask3']),
    node('Mul', ['gathered', 'mask3'], ['masked']),
    node('Transpose', ['masked'], ['channels'], [{ name: 'perm', type: AttributeType.INTS, ints: [0, 2, 1] }]),
  ];
  const pooled: string[] = [];
  conv.windows.forEach((k, i) => {
    initializer.push(floatTensor(`conv${i}_weight`, [F, D, k], toConvLayout(conv.weights[i]!, k, D, F)), floatTensor(`conv${i}_bias`, [F], conv.biases[i]!));
    nodes.push(
      node('Conv', ['channels', `conv${i}_weight`, `conv${i}_bias`], [`conv${i}`], [{ name: 'kernel_shape', type: AttributeType.INTS, ints: [k] }]),
      node('ReduceMax', [`conv${i}`], [`pool${i}`], [
        { name: 'axes', type: AttributeType.INTS, ints: [2] },
        { name: 'keepdims', type: AttributeType.INT, i: 0 },
      ]),
    );
    pooled.push(`pool${i}`);
  });
  nodes.push(
    node('Concat', pooled, ['pooled_all'], [{ name: 'axis', type: AttributeType.INT, i: 1 }]),
    node('Relu', ['pooled_all'], ['features']),
    node('MatMul', ['features', 'output_weight'], ['output_mm']),
  );
  return { initializer, nodes };
}

/** [k, D, F] (the trainer's layout: contiguous over filters) → [F, D, k] (ONNX Conv's). */
function toConvLayout(w: Float32Array, k: number, D: number, F: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let j = 0; j < k; j++) for (let d = 0; d < D; d++) for (let f = 0; f < F; f++) out[(f * D + d) * k + j] = w[(j * D + d) * F + f]!;
  return out;
}

/** Serializes the student as an ONNX ModelProto. */
export function exportStudentOnnx(w: StudentWeights, options: ExportOptions = {}): Uint8Array {
  checkStudentWeights(w);
  const C = w.labels.length;
  const { initializer, nodes } = w.conv ? convGraph(w) : bagGraph(w);
  nodes.push(
    node('Add', ['output_mm', 'output_bias'], [STUDENT_OUTPUTS.logits]),
    node('Softmax', [STUDENT_OUTPUTS.logits], [STUDENT_OUTPUTS.probabilities], [{ name: 'axis', type: AttributeType.INT, i: -1 }]),
  );

  const model = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'distillery',
    producerVersion: options.producerVersion ?? '0.1.0',
    docString: w.conv
      ? 'Distillery convolutional student: word embeddings → 1-D convolutions → max-pool → ReLU → softmax over labels.'
      : 'Distillery fastText-style student: embedding bag (mean) → [ReLU layer] → softmax over labels.',
    graph: {
      name: 'student',
      node: nodes,
      initializer,
      input: [
        valueInfo(STUDENT_INPUTS.ids, TensorDataType.INT64, ['batch', 'sequence']),
        valueInfo(STUDENT_INPUTS.mask, TensorDataType.FLOAT, ['batch', 'sequence']),
      ],
      output: [
        valueInfo(STUDENT_OUTPUTS.logits, TensorDataType.FLOAT, ['batch', C]),
        valueInfo(STUDENT_OUTPUTS.probabilities, TensorDataType.FLOAT, ['batch', C]),
      ],
    },
    metadataProps: Object.entries({ labels: JSON.stringify(w.labels), ...(options.metadata ?? {}) }).map(([key, value]) => ({ key, value })),
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX model message is invalid: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
