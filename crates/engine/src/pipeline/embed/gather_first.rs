//! Keeps a quantized embedding table quantized in memory, by looking rows up before
//! dequantizing them.
//!
//! The shipped model stores its weights as `int8` with a scale, and dequantizes them in the
//! graph: `Gather(Mul(Cast(table_q), scale), ids)` for the token and position tables.
//! ONNX Runtime's constant folding sees `Cast` and `Mul` over constants and replaces them
//! with their result, an `f32` copy of the whole table: the 30,522 x 384 token table
//! becomes 45 MiB per session, for the few hundred rows a batch reads. Gathering first,
//! `Mul(Cast(Gather(table_q, ids)), Gather(scale, ids))`, computes exactly the same numbers
//! (a gather only moves values, and the cast and the product are element-wise) while the
//! table stays at one byte a weight.
//!
//! The rewrite works on the protobuf bytes directly: it reads just the fields it needs
//! (node inputs, outputs, type, two attributes; initializer names, types and shapes) and
//! copies everything else byte for byte, so no ONNX library or schema is needed. Anything
//! it does not fully understand is left alone: the original model always works, only with
//! more memory.

/// A field of a protobuf message, as it appears on the wire.
struct Field<'a> {
    number: u64,
    /// The value of a varint field.
    varint: u64,
    /// The contents of a length-delimited field (empty for other wire types).
    bytes: &'a [u8],
    /// The whole field, key included, for copying it unchanged.
    raw: &'a [u8],
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of one message, in order; `None` if the bytes are not a well-formed message.
fn fields(buf: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let key = read_varint(buf, &mut pos)?;
        let (mut varint, mut bytes) = (0, &buf[0..0]);
        match key & 7 {
            0 => varint = read_varint(buf, &mut pos)?,
            1 => pos = pos.checked_add(8)?,
            2 => {
                let len = usize::try_from(read_varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                bytes = buf.get(pos..end)?;
                pos = end;
            }
            5 => pos = pos.checked_add(4)?,
            _ => return None,
        }
        if pos > buf.len() {
            return None;
        }
        out.push(Field {
            number: key >> 3,
            varint,
            bytes,
            raw: &buf[start..pos],
        });
    }
    Some(out)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    put_varint(out, (number << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_int(out: &mut Vec<u8>, number: u64, value: u64) {
    put_varint(out, number << 3);
    put_varint(out, value);
}

fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

// Field numbers from onnx.proto.
const MODEL_GRAPH: u64 = 7;
const GRAPH_NODE: u64 = 1;
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_OUTPUT: u64 = 12;
const NODE_INPUT: u64 = 1;
const NODE_OUTPUT: u64 = 2;
const NODE_NAME: u64 = 3;
const NODE_OP_TYPE: u64 = 4;
const NODE_ATTRIBUTE: u64 = 5;
const NODE_DOMAIN: u64 = 7;
const ATTRIBUTE_NAME: u64 = 1;
const ATTRIBUTE_INT: u64 = 3;
const ATTRIBUTE_TYPE: u64 = 20;
const ATTRIBUTE_TYPE_INT: u64 = 2;
const TENSOR_DIMS: u64 = 1;
const TENSOR_DATA_TYPE: u64 = 2;
const TENSOR_NAME: u64 = 8;
const VALUE_INFO_NAME: u64 = 1;
const FLOAT: u64 = 1;
const INT8: u64 = 3;

/// What the rewrite needs of a node.
#[derive(Debug, PartialEq)]
struct Node {
    inputs: Vec<String>,
    outputs: Vec<String>,
    op_type: String,
    domain: String,
    /// Integer attributes; any other kind of attribute makes the node one we leave alone.
    ints: Vec<(String, i64)>,
    other_attributes: bool,
}

impl Node {
    fn parse(bytes: &[u8]) -> Option<Node> {
        let mut node = Node {
            inputs: Vec::new(),
            outputs: Vec::new(),
            op_type: String::new(),
            domain: String::new(),
            ints: Vec::new(),
            other_attributes: false,
        };
        for field in fields(bytes)? {
            match field.number {
                NODE_INPUT => node.inputs.push(text(field.bytes)?),
                NODE_OUTPUT => node.outputs.push(text(field.bytes)?),
                NODE_OP_TYPE => node.op_type = text(field.bytes)?,
                NODE_DOMAIN => node.domain = text(field.bytes)?,
                NODE_ATTRIBUTE => {
                    let attribute = fields(field.bytes)?;
                    let name = attribute.iter().find(|f| f.number == ATTRIBUTE_NAME);
                    let kind = attribute.iter().find(|f| f.number == ATTRIBUTE_TYPE);
                    let value = attribute.iter().find(|f| f.number == ATTRIBUTE_INT);
                    match (name, kind, value) {
                        (Some(name), Some(kind), Some(value))
                            if kind.varint == ATTRIBUTE_TYPE_INT =>
                        {
                            node.ints.push((text(name.bytes)?, value.varint as i64));
                        }
                        _ => node.other_attributes = true,
                    }
                }
                _ => {}
            }
        }
        Some(node)
    }

    fn is(&self, op_type: &str) -> bool {
        self.op_type == op_type && (self.domain.is_empty() || self.domain == "ai.onnx")
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.ints.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    fn encode(
        op_type: &str,
        name: &str,
        inputs: &[&str],
        output: &str,
        int: Option<(&str, i64)>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for input in inputs {
            put_bytes(&mut out, NODE_INPUT, input.as_bytes());
        }
        put_bytes(&mut out, NODE_OUTPUT, output.as_bytes());
        put_bytes(&mut out, NODE_NAME, name.as_bytes());
        put_bytes(&mut out, NODE_OP_TYPE, op_type.as_bytes());
        if let Some((attribute, value)) = int {
            let mut a = Vec::new();
            put_bytes(&mut a, ATTRIBUTE_NAME, attribute.as_bytes());
            put_int(&mut a, ATTRIBUTE_INT, value as u64);
            put_int(&mut a, ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INT);
            put_bytes(&mut out, NODE_ATTRIBUTE, &a);
        }
        out
    }
}

/// Name, element type and shape of an initializer.
struct Initializer {
    name: String,
    data_type: u64,
    dims: Vec<i64>,
}

impl Initializer {
    fn parse(bytes: &[u8]) -> Option<Initializer> {
        let mut init = Initializer {
            name: String::new(),
            data_type: 0,
            dims: Vec::new(),
        };
        for field in fields(bytes)? {
            match field.number {
                TENSOR_NAME => init.name = text(field.bytes)?,
                TENSOR_DATA_TYPE => init.data_type = field.varint,
                // Repeated int64: packed (length-delimited) or one varint per field.
                TENSOR_DIMS if field.raw[0] & 7 == 2 => {
                    let mut pos = 0;
                    while pos < field.bytes.len() {
                        init.dims.push(read_varint(field.bytes, &mut pos)? as i64);
                    }
                }
                TENSOR_DIMS => init.dims.push(field.varint as i64),
                _ => {}
            }
        }
        Some(init)
    }
}

/// One table lookup to rewrite: the `Gather` node and the `Cast` and `Mul` it replaces.
struct Lookup {
    gather: usize,
    cast: usize,
    mul: usize,
    table: String,
    scale: String,
    /// The scale holds one value per table row (else it is a single value).
    scale_per_row: bool,
}

/// `model` (an ONNX `ModelProto`) with every lookup in a dequantized constant table turned
/// into a lookup in the quantized table followed by dequantizing the rows read, and how many
/// were rewritten; `None` when there is nothing to rewrite or the bytes are not understood.
pub fn rewrite(model: &[u8]) -> Option<(Vec<u8>, usize)> {
    let model_fields = fields(model)?;
    let mut graphs = model_fields
        .iter()
        .filter(|f| f.number == MODEL_GRAPH && f.raw[0] & 7 == 2);
    let graph = graphs.next()?;
    if graphs.next().is_some() {
        return None;
    }
    let graph_fields = fields(graph.bytes)?;

    let mut nodes = Vec::new(); // (index into graph_fields, node)
    let mut initializers = std::collections::HashMap::new();
    let mut uses: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, field) in graph_fields.iter().enumerate() {
        match field.number {
            GRAPH_NODE => {
                let node = Node::parse(field.bytes)?;
                for input in &node.inputs {
                    *uses.entry(input.clone()).or_default() += 1;
                }
                nodes.push((i, node));
            }
            GRAPH_INITIALIZER => {
                let init = Initializer::parse(field.bytes)?;
                initializers.insert(init.name.clone(), init);
            }
            GRAPH_OUTPUT => {
                let name = fields(field.bytes)?
                    .into_iter()
                    .find(|f| f.number == VALUE_INFO_NAME)
                    .and_then(|f| text(f.bytes))?;
                *uses.entry(name).or_default() += 1;
            }
            _ => {}
        }
    }
    let producer: std::collections::HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, (_, node))| node.outputs.iter().map(move |o| (o.as_str(), n)))
        .collect();
    let used_once = |name: &str| uses.get(name) == Some(&1);

    let mut lookups = Vec::new();
    for (g, (_, gather)) in nodes.iter().enumerate() {
        let plain_gather = gather.is("Gather")
            && gather.inputs.len() == 2
            && gather.outputs.len() == 1
            && !gather.other_attributes
            && gather.int("axis").unwrap_or(0) == 0;
        if !plain_gather || !used_once(&gather.inputs[0]) {
            continue;
        }
        let Some(&m) = producer.get(gather.inputs[0].as_str()) else {
            continue;
        };
        let mul = &nodes[m].1;
        if !mul.is("Mul") || mul.inputs.len() != 2 || mul.other_attributes || !mul.ints.is_empty() {
            continue;
        }
        // Mul(Cast(table), scale) in either order.
        let found = [(0, 1), (1, 0)].into_iter().find_map(|(c, s)| {
            let c_node = *producer.get(mul.inputs[c].as_str())?;
            let cast = &nodes[c_node].1;
            let table = initializers.get(cast.inputs.first()?)?;
            let scale = initializers.get(&mul.inputs[s])?;
            let ok = cast.is("Cast")
                && cast.inputs.len() == 1
                && !cast.other_attributes
                && cast.int("to") == Some(FLOAT as i64)
                && used_once(&mul.inputs[c])
                && table.data_type == INT8
                && !table.dims.is_empty()
                && scale.data_type == FLOAT;
            let count: i64 = scale.dims.iter().product();
            let per_row = scale.dims.len() == table.dims.len()
                && scale.dims[0] == table.dims[0]
                && scale.dims[1..].iter().all(|&d| d == 1);
            (ok && (count == 1 || per_row)).then(|| Lookup {
                gather: g,
                cast: c_node,
                mul: m,
                table: table.name.clone(),
                scale: scale.name.clone(),
                scale_per_row: per_row && count != 1,
            })
        });
        lookups.extend(found);
    }
    if lookups.is_empty() {
        return None;
    }

    // The graph again, with each lookup's Gather replaced and its Cast and Mul left out.
    let dropped: std::collections::HashSet<usize> = lookups
        .iter()
        .flat_map(|l| [nodes[l.cast].0, nodes[l.mul].0])
        .collect();
    let replaced: std::collections::HashMap<usize, &Lookup> =
        lookups.iter().map(|l| (nodes[l.gather].0, l)).collect();
    let mut graph_out = Vec::with_capacity(graph.bytes.len() + 1024);
    for (i, field) in graph_fields.iter().enumerate() {
        if dropped.contains(&i) {
            continue;
        }
        let Some(lookup) = replaced.get(&i) else {
            graph_out.extend_from_slice(field.raw);
            continue;
        };
        let gather = &nodes[lookup.gather].1;
        let (ids, output) = (gather.inputs[1].as_str(), gather.outputs[0].as_str());
        let name = |part: &str| format!("ferret.gather_first/{}/{part}", lookup.gather);
        let (rows_q, rows, scales) = (name("rows_q"), name("rows"), name("scales"));
        let mut added = 0;
        let mut add = |op: &str, inputs: &[&str], output: &str, int: Option<(&str, i64)>| {
            added += 1;
            let node = Node::encode(op, &name(&format!("node{added}")), inputs, output, int);
            put_bytes(&mut graph_out, GRAPH_NODE, &node);
        };
        add("Gather", &[&lookup.table, ids], &rows_q, Some(("axis", 0)));
        add("Cast", &[&rows_q], &rows, Some(("to", FLOAT as i64)));
        let scale = if lookup.scale_per_row {
            add("Gather", &[&lookup.scale, ids], &scales, Some(("axis", 0)));
            scales.as_str()
        } else {
            lookup.scale.as_str()
        };
        add("Mul", &[&rows, scale], output, None);
    }

    let mut out = Vec::with_capacity(model.len() + 1024);
    for field in &model_fields {
        if std::ptr::eq(field.raw, graph.raw) {
            put_bytes(&mut out, MODEL_GRAPH, &graph_out);
        } else {
            out.extend_from_slice(field.raw);
        }
    }
    Some((out, lookups.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn initializer(name: &str, data_type: u64, dims: &[i64]) -> Vec<u8> {
        let mut t = Vec::new();
        let mut packed = Vec::new();
        for &d in dims {
            put_varint(&mut packed, d as u64);
        }
        put_bytes(&mut t, TENSOR_DIMS, &packed);
        put_int(&mut t, TENSOR_DATA_TYPE, data_type);
        put_bytes(&mut t, TENSOR_NAME, name.as_bytes());
        t
    }

    /// A model whose graph is `Gather(Mul(Cast(table_q), scale), ids)` plus `extra` nodes.
    fn model(scale_dims: &[i64], extra: &[Vec<u8>]) -> Vec<u8> {
        let mut graph = Vec::new();
        let node = |op, inputs: &[&str], output, int| Node::encode(op, output, inputs, output, int);
        for bytes in [
            node("Cast", &["table_q"], "table_f", Some(("to", 1))),
            node("Mul", &["table_f", "scale"], "table", None),
            node("Gather", &["table", "ids"], "rows", Some(("axis", 0))),
        ]
        .iter()
        .chain(extra)
        {
            put_bytes(&mut graph, GRAPH_NODE, bytes);
        }
        put_bytes(
            &mut graph,
            GRAPH_INITIALIZER,
            &initializer("table_q", INT8, &[10, 4]),
        );
        put_bytes(
            &mut graph,
            GRAPH_INITIALIZER,
            &initializer("scale", FLOAT, scale_dims),
        );
        let mut model = Vec::new();
        put_int(&mut model, 1, 8); // ir_version
        put_bytes(&mut model, MODEL_GRAPH, &graph);
        put_bytes(&mut model, 2, b"test"); // producer_name
        model
    }

    fn graph_nodes(model: &[u8]) -> Vec<Node> {
        let fields = fields(model).unwrap();
        let graph = fields.iter().find(|f| f.number == MODEL_GRAPH).unwrap();
        fields_of(graph.bytes, GRAPH_NODE)
            .map(|b| Node::parse(b).unwrap())
            .collect()
    }

    fn fields_of(bytes: &[u8], number: u64) -> impl Iterator<Item = &[u8]> {
        fields(bytes)
            .unwrap()
            .into_iter()
            .filter(move |f| f.number == number)
            .map(|f| f.bytes)
    }

    #[test]
    fn a_lookup_in_a_dequantized_table_reads_quantized_rows() {
        let (out, count) = rewrite(&model(&[10, 1], &[])).unwrap();
        assert_eq!(count, 1);
        let nodes = graph_nodes(&out);
        let ops: Vec<&str> = nodes.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Gather", "Cast", "Gather", "Mul"]);
        assert_eq!(nodes[0].inputs, ["table_q", "ids"]);
        assert_eq!(nodes[1].int("to"), Some(1));
        assert_eq!(nodes[2].inputs, ["scale", "ids"]);
        assert_eq!(
            nodes[3].inputs,
            [nodes[1].outputs[0].clone(), nodes[2].outputs[0].clone()]
        );
        // The lookup's output keeps its name, so the rest of the graph is untouched.
        assert_eq!(nodes[3].outputs, ["rows"]);
        // The fields around the graph are copied as they were.
        let original = model(&[10, 1], &[]);
        let before = fields(&original).unwrap();
        let after = fields(&out).unwrap();
        assert_eq!(before[0].raw, after[0].raw);
        assert_eq!(before[2].raw, after[2].raw);
    }

    #[test]
    fn a_single_scale_is_applied_to_the_rows_directly() {
        let (out, _) = rewrite(&model(&[], &[])).unwrap();
        let nodes = graph_nodes(&out);
        let ops: Vec<&str> = nodes.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Gather", "Cast", "Mul"]);
        assert_eq!(nodes[2].inputs[1], "scale");
    }

    #[test]
    fn anything_else_is_left_alone() {
        // The dequantized table is used elsewhere too: folding it is then worth it.
        let other_use = Node::encode("Shape", "s", &["table"], "s", None);
        assert!(rewrite(&model(&[10, 1], &[other_use])).is_none());
        // A scale per column is not a per-row factor.
        assert!(rewrite(&model(&[1, 4], &[])).is_none());
        // Not a message at all.
        assert!(rewrite(b"\xff\xff\xff").is_none());
        assert!(rewrite(&[]).is_none());
        // A message without the pattern.
        let mut plain = Vec::new();
        put_int(&mut plain, 1, 8);
        assert!(rewrite(&plain).is_none());
    }

    #[test]
    fn truncated_models_are_refused_not_misread() {
        let whole = model(&[10, 1], &[]);
        for cut in 1..whole.len() {
            // Either refused, or (when the cut falls between fields) read as what it is.
            if let Some((out, _)) = rewrite(&whole[..cut]) {
                assert!(fields(&out).is_some());
            }
        }
    }
}
