// DuckDB round trip for `deepclust predict`, driven by
// internal/app/predict_test.go (TestDuckDBRoundTrip):
//
//   node interop.mjs write-input DIR N
//     writes DIR/input.parquet (N rows: id BIGINT, key VARCHAR, f0..f3 FLOAT
//     drawn around three well-separated centres, vec FLOAT[4] holding the
//     same values, label INTEGER) and DIR/lake/, the same rows partitioned
//     Hive-style by part=0|1 with DuckDB's PARTITION_BY.
//   node interop.mjs check-output INPUT OUTPUT K DIM [ID...]
//     reads deepclust's OUTPUT Parquet file back and checks its row count,
//     its column types, that the ID columns join back to INPUT one to one,
//     that every cluster is in [0, K) and that each label lands in a single
//     cluster (the centres are 10 standard deviations apart).
// Exits 1 with a one-line message on the first failed check.
import { DuckDBInstance } from '@duckdb/node-api';

const [cmd, ...args] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();

async function rows(sql) {
  const r = await con.runAndReadAll(sql);
  // Counts come back as BigInt: make every bigint a number.
  return r.getRowObjectsJS().map((o) => Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

function fail(msg) {
  console.error(`duckdb interop: ${msg}`);
  process.exit(1);
}

function quote(path) {
  return `'${path.replaceAll("'", "''")}'`;
}

if (cmd === 'write-input') {
  const [dir, n] = args;
  // Three centres 10 apart per feature; the spread is a deterministic
  // pseudo-random value in [-0.5, 0.5) from DuckDB's hash of the row.
  await con.run(`CREATE TABLE input AS
    SELECT i::BIGINT AS id, 'k' || (i * 7 % 1000003)::VARCHAR AS key,
           (i % 3)::INTEGER AS label, (i % 2)::INTEGER AS part,
           ((i % 3) * 10 + (hash(i, 0) % 1000) / 1000.0 - 0.5)::FLOAT AS f0,
           ((i % 3) * -10 + (hash(i, 1) % 1000) / 1000.0 - 0.5)::FLOAT AS f1,
           (((i % 3) = 1)::INTEGER * 10 + (hash(i, 2) % 1000) / 1000.0 - 0.5)::FLOAT AS f2,
           ((hash(i, 3) % 1000) / 1000.0 - 0.5)::FLOAT AS f3
    FROM range(${Number(n)}) t(i)`);
  await con.run(`COPY (SELECT id, key, f0, f1, f2, f3, [f0, f1, f2, f3]::FLOAT[4] AS vec, label FROM input ORDER BY id)
    TO ${quote(dir + '/input.parquet')} (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
  await con.run(`COPY (SELECT id, key, f0, f1, f2, f3, label, part FROM input ORDER BY id)
    TO ${quote(dir + '/lake')} (FORMAT parquet, PARTITION_BY (part))`);
  console.log(JSON.stringify({ rows: Number(n) }));
} else if (cmd === 'check-output') {
  const [input, output, k, dim, ...ids] = args;
  const n = (await rows(`SELECT count(*) AS n FROM read_parquet(${quote(input)})`))[0].n;
  const m = (await rows(`SELECT count(*) AS n FROM read_parquet(${quote(output)})`))[0].n;
  if (m !== n) fail(`output has ${m} rows, input ${n}`);

  const types = Object.fromEntries((await rows(`DESCRIBE SELECT * FROM read_parquet(${quote(output)})`))
    .map((r) => [r.column_name, r.column_type]));
  const want = { row: 'BIGINT', cluster: 'INTEGER' };
  for (const [col, t] of Object.entries(want)) {
    if (types[col] !== t) fail(`column ${col} has type ${types[col]}, want ${t}`);
  }
  if (types.embedding !== 'FLOAT[]' && types.embedding !== `FLOAT[${dim}]`) {
    fail(`column embedding has type ${types.embedding}, want FLOAT[] or FLOAT[${dim}]`);
  }
  const inTypes = Object.fromEntries((await rows(`DESCRIBE SELECT * FROM read_parquet(${quote(input)})`))
    .map((r) => [r.column_name, r.column_type]));
  for (const id of ids) {
    if (types[id] !== inTypes[id]) fail(`id column ${id} has type ${types[id]}, input ${inTypes[id]}`);
  }

  const out = `read_parquet(${quote(output)})`;
  const inp = `read_parquet(${quote(input)})`;
  const bad = (await rows(`SELECT
      count(*) FILTER (WHERE len(embedding) <> ${Number(dim)} OR embedding IS NULL) AS bad_embedding,
      count(*) FILTER (WHERE cluster < 0 OR cluster >= ${Number(k)} OR cluster IS NULL) AS bad_cluster,
      count(DISTINCT row) AS distinct_rows, min(row) AS min_row, max(row) AS max_row
    FROM ${out}`))[0];
  if (bad.bad_embedding !== 0) fail(`${bad.bad_embedding} embeddings are null or not ${dim} long`);
  if (bad.bad_cluster !== 0) fail(`${bad.bad_cluster} clusters outside [0, ${k})`);
  if (bad.distinct_rows !== n || bad.min_row !== 0 || bad.max_row !== n - 1) {
    fail(`row column is not 0..${n - 1} once each: ${JSON.stringify(bad)}`);
  }
  const on = ids.map((id) => `i.${id} = o.${id}`).join(' AND ');
  const joined = (await rows(`SELECT count(*) AS n, count(DISTINCT o.row) AS rows FROM ${inp} i JOIN ${out} o ON ${on}`))[0];
  if (joined.n !== n || joined.rows !== n) fail(`ids join ${joined.n} rows (${joined.rows} distinct) of ${n}`);
  const split = await rows(`SELECT i.label, count(DISTINCT o.cluster) AS clusters
    FROM ${inp} i JOIN ${out} o ON ${on} GROUP BY i.label HAVING count(DISTINCT o.cluster) <> 1`);
  if (split.length > 0) fail(`labels split over several clusters: ${JSON.stringify(split)}`);
  const distinct = (await rows(`SELECT count(DISTINCT cluster) AS c FROM ${out}`))[0].c;
  if (distinct !== 3) fail(`${distinct} distinct clusters, want 3`);
  console.log(JSON.stringify({ rows: m, types }));
} else {
  fail(`unknown command ${cmd} (want write-input or check-output)`);
}
