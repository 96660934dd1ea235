'use strict';
// Tensors as Arrow IPC streams (docs/protocol.md, section 4): one column
// "data" of FixedSizeList<float32>[C], the shape in the schema metadata
// "deepclust.shape"; zero-length bytes are the absent tensor.
const arrow = require('apache-arrow');

const SHAPE_KEY = 'deepclust.shape';

// decode returns {shape, data: Float32Array} or null for absent bytes.
function decode(bytes) {
  if (!bytes || bytes.length === 0) return null;
  const table = arrow.tableFromIPC(bytes);
  const meta = table.schema.metadata.get(SHAPE_KEY);
  if (meta === undefined) throw new Error(`tensor without ${SHAPE_KEY} metadata`);
  if (meta === '') return null;
  const shape = meta.split(',').map(Number);
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const column = table.getChild('data');
  if (!column) throw new Error('tensor without a "data" column');
  let row = 0;
  for (const chunk of column.data) {
    const values = chunk.children[0];
    const start = values.offset + chunk.offset * cols;
    data.set(values.values.subarray(start, start + chunk.length * cols), row * cols);
    row += chunk.length;
  }
  if (row !== shape[0]) throw new Error(`tensor shape ${shape} but ${row} rows`);
  return { shape, data };
}

// encode returns t ({shape, data}) as Arrow IPC stream bytes; null or
// undefined gives the absent tensor (zero-length bytes).
function encode(t) {
  if (!t) return Buffer.alloc(0);
  const rows = t.shape[0];
  let cols = t.shape.slice(1).reduce((a, b) => a * b, 1);
  let length = rows;
  if (cols === 0) { cols = 1; length = 0; }
  const type = new arrow.FixedSizeList(cols, new arrow.Field('item', new arrow.Float32(), false));
  const values = arrow.makeData({ type: new arrow.Float32(), length: length * cols, data: t.data.subarray(0, length * cols) });
  const list = arrow.makeData({ type, length, nullCount: 0, child: values });
  const schema = new arrow.Schema([new arrow.Field('data', type, false)], new Map([[SHAPE_KEY, t.shape.join(',')]]));
  const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children: [list] }));
  return Buffer.from(arrow.tableToIPC(new arrow.Table([batch]), 'stream'));
}

module.exports = { decode, encode };
