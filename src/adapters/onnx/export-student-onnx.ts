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

function floatTensor(name: string, dims: number[], data: Float32Array) {
  // raw_data is little-endian by the ONNX spec; copy so the proto owns exactly these bytes.
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return { name, dims, dataType: TensorDataType.FLOAT, rawData: bytes };
}

function int64Tensor(name: string, values: number[]) {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], dataType: TensorDataType.INT64, rawData: bytes };
}

const valueInfo = (name: string, elemType: number, dims: (number | string)[]) => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({
  opType,
  input,
  output,
  name: `${opType}_${output[0]}`,
  attribute,
});

export function checkStudentWeights(w: StudentWeights): void {
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

/** Serializes the student as an ONNX ModelProto. */
export function exportStudentOnnx(w: StudentWeights, options: ExportOptions = {}): Uint8Array {
  checkStudentWeights(w);
  const C = w.labels.length;
  const D = w.embeddingDim;
  const H = w.hiddenSize;
  const In = H > 0 ? H : D;

  const initializer = [
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
  nodes.push(
    node('MatMul', [features, 'output_weight'], ['output_mm']),
    node('Add', ['output_mm', 'output_bias'], [STUDENT_OUTPUTS.logits]),
    node('Softmax', [STUDENT_OUTPUTS.logits], [STUDENT_OUTPUTS.probabilities], [{ name: 'axis', type: AttributeType.INT, i: -1 }]),
  );

  const model = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'distillery',
    producerVersion: options.producerVersion ?? '0.1.0',
    docString: 'Distillery fastText-style student: embedding bag (mean) → [ReLU layer] → softmax over labels.',
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
