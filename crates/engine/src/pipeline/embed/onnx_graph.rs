//! Just enough of ONNX's protobuf to rewrite a model's graph in place: the wire format,
//! the node and initializer fields a rewrite looks at, and [`Graph`], which indexes one
//! graph (who produces and who uses each value) and writes it back with some nodes
//! replaced.
//!
//! Everything not read is copied byte for byte, so no ONNX library or schema is needed;
//! bytes that are not a well-formed message make every reader return `None`, and the
//! rewrites ([`super::gather_first`], [`super::int8_matmul`]) then leave the model alone.

use std::collections::{HashMap, HashSet};

/// A field of a protobuf message, as it appears on the wire.
pub(super) struct Field<'a> {
    pub(super) number: u64,
    /// The value of a varint field.
    pub(super) varint: u64,
    /// The contents of a length-delimited field (empty for other wire types).
    pub(super) bytes: &'a [u8],
    /// The whole field, key included, for copying it unchanged.
    pub(super) raw: &'a [u8],
}

pub(super) fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
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
pub(super) fn fields(buf: &[u8]) -> Option<Vec<Field<'_>>> {
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

pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(super) fn put_bytes(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    put_varint(out, (number << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

pub(super) fn put_int(out: &mut Vec<u8>, number: u64, value: u64) {
    put_varint(out, number << 3);
    put_varint(out, value);
}

pub(super) fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

// Field numbers from onnx.proto.
pub(super) const MODEL_GRAPH: u64 = 7;
pub(super) const GRAPH_NODE: u64 = 1;
pub(super) const GRAPH_INITIALIZER: u64 = 5;
pub(super) const GRAPH_OUTPUT: u64 = 12;
pub(super) const NODE_INPUT: u64 = 1;
pub(super) const NODE_OUTPUT: u64 = 2;
pub(super) const NODE_NAME: u64 = 3;
pub(super) const NODE_OP_TYPE: u64 = 4;
pub(super) const NODE_ATTRIBUTE: u64 = 5;
pub(super) const NODE_DOMAIN: u64 = 7;
pub(super) const ATTRIBUTE_NAME: u64 = 1;
pub(super) const ATTRIBUTE_INT: u64 = 3;
pub(super) const ATTRIBUTE_TYPE: u64 = 20;
pub(super) const ATTRIBUTE_TYPE_INT: u64 = 2;
pub(super) const TENSOR_DIMS: u64 = 1;
pub(super) const TENSOR_DATA_TYPE: u64 = 2;
pub(super) const TENSOR_FLOAT_DATA: u64 = 4;
pub(super) const TENSOR_NAME: u64 = 8;
pub(super) const TENSOR_RAW_DATA: u64 = 9;
pub(super) const MODEL_OPSET_IMPORT: u64 = 8;
pub(super) const OPSET_DOMAIN: u64 = 1;
pub(super) const OPSET_VERSION: u64 = 2;
pub(super) const VALUE_INFO_NAME: u64 = 1;
pub(super) const FLOAT: u64 = 1;
pub(super) const INT8: u64 = 3;

/// What the rewrite needs of a node.
#[derive(Debug, PartialEq)]
pub(super) struct Node {
    pub(super) inputs: Vec<String>,
    pub(super) outputs: Vec<String>,
    pub(super) op_type: String,
    pub(super) domain: String,
    /// Integer attributes; any other kind of attribute makes the node one we leave alone.
    pub(super) ints: Vec<(String, i64)>,
    pub(super) other_attributes: bool,
}

impl Node {
    pub(super) fn parse(bytes: &[u8]) -> Option<Node> {
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

    pub(super) fn is(&self, op_type: &str) -> bool {
        self.op_type == op_type && (self.domain.is_empty() || self.domain == "ai.onnx")
    }

    pub(super) fn int(&self, name: &str) -> Option<i64> {
        self.ints.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    pub(super) fn encode(
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

/// Name, element type and shape of an initializer, and where its bytes are.
pub(super) struct Initializer<'a> {
    pub(super) name: String,
    pub(super) data_type: u64,
    pub(super) dims: Vec<i64>,
    /// The whole `TensorProto`.
    tensor: &'a [u8],
}

impl<'a> Initializer<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Option<Initializer<'a>> {
        let mut init = Initializer {
            name: String::new(),
            data_type: 0,
            dims: Vec::new(),
            tensor: bytes,
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

    /// The little-endian values of a FLOAT tensor stored as `raw_data` or packed
    /// `float_data`; `None` for other types or encodings.
    pub(super) fn float_bytes(&self) -> Option<&'a [u8]> {
        if self.data_type != FLOAT {
            return None;
        }
        fields(self.tensor)?
            .into_iter()
            .find(|f| {
                f.number == TENSOR_RAW_DATA || (f.number == TENSOR_FLOAT_DATA && f.raw[0] & 7 == 2)
            })
            .map(|f| f.bytes)
    }
}

/// What [`Graph::dequantized_int8`] found: the two nodes (indexes into `nodes`) and the
/// two constants.
pub(super) struct Dequantized<'g, 'a> {
    pub(super) cast: usize,
    pub(super) mul: usize,
    pub(super) quantized: &'g Initializer<'a>,
    pub(super) scale: &'g Initializer<'a>,
}

/// One model's graph, indexed for a rewrite.
pub(super) struct Graph<'a> {
    model_fields: Vec<Field<'a>>,
    /// Which of `model_fields` is the graph.
    graph: usize,
    /// The graph's own fields in order (nodes, initializers, inputs, outputs, ...).
    fields: Vec<Field<'a>>,
    /// Each node, with the index of its field in `fields`.
    pub(super) nodes: Vec<(usize, Node)>,
    pub(super) initializers: HashMap<String, Initializer<'a>>,
    /// How many node inputs and graph outputs name each value.
    uses: HashMap<String, usize>,
    /// The node (index into `nodes`) that produces each value.
    producers: HashMap<String, usize>,
}

impl<'a> Graph<'a> {
    /// The graph of `model` (an ONNX `ModelProto`); `None` if the bytes are not understood
    /// or hold other than exactly one graph.
    pub(super) fn parse(model: &'a [u8]) -> Option<Graph<'a>> {
        let model_fields = fields(model)?;
        let mut graphs = model_fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.number == MODEL_GRAPH && f.raw[0] & 7 == 2);
        let (graph, graph_field) = graphs.next()?;
        if graphs.next().is_some() {
            return None;
        }
        let fields = fields(graph_field.bytes)?;
        let mut nodes = Vec::new();
        let mut initializers = HashMap::new();
        let mut uses: HashMap<String, usize> = HashMap::new();
        for (i, field) in fields.iter().enumerate() {
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
                    let name = self::fields(field.bytes)?
                        .into_iter()
                        .find(|f| f.number == VALUE_INFO_NAME)
                        .and_then(|f| text(f.bytes))?;
                    *uses.entry(name).or_default() += 1;
                }
                _ => {}
            }
        }
        let producers = nodes
            .iter()
            .enumerate()
            .flat_map(|(n, (_, node))| node.outputs.iter().map(move |o| (o.clone(), n)))
            .collect();
        Some(Graph {
            model_fields,
            graph,
            fields,
            nodes,
            initializers,
            uses,
            producers,
        })
    }

    /// The node (index into `nodes`) producing `value`.
    pub(super) fn producer(&self, value: &str) -> Option<usize> {
        self.producers.get(value).copied()
    }

    /// Exactly one node input or graph output reads `value`.
    pub(super) fn used_once(&self, value: &str) -> bool {
        self.uses.get(value) == Some(&1)
    }

    /// The int8 constant dequantized in the graph into `value`: `Mul(Cast(q), scale)` in
    /// either order, `q` an int8 initializer cast to float, `scale` a float initializer.
    /// Only when `value` and the cast's result are each read once, so a rewrite that
    /// replaces the one reader may leave the Cast and the Mul out.
    pub(super) fn dequantized_int8(&self, value: &str) -> Option<Dequantized<'_, 'a>> {
        if !self.used_once(value) {
            return None;
        }
        let mul_node = self.producer(value)?;
        let mul = &self.nodes[mul_node].1;
        if !mul.is("Mul") || mul.inputs.len() != 2 || mul.other_attributes || !mul.ints.is_empty() {
            return None;
        }
        [(0, 1), (1, 0)].into_iter().find_map(|(c, s)| {
            let cast_node = self.producer(&mul.inputs[c])?;
            let cast = &self.nodes[cast_node].1;
            let quantized = self.initializers.get(cast.inputs.first()?)?;
            let scale = self.initializers.get(&mul.inputs[s])?;
            let ok = cast.is("Cast")
                && cast.inputs.len() == 1
                && !cast.other_attributes
                && cast.int("to") == Some(FLOAT as i64)
                && self.used_once(&mul.inputs[c])
                && quantized.data_type == INT8
                && !quantized.dims.is_empty()
                && scale.data_type == FLOAT;
            ok.then_some(Dequantized {
                cast: cast_node,
                mul: mul_node,
                quantized,
                scale,
            })
        })
    }

    /// The model imports operator set `domain`.
    pub(super) fn imports(&self, domain: &str) -> bool {
        self.model_fields.iter().any(|f| {
            f.number == MODEL_OPSET_IMPORT
                && fields(f.bytes).is_some_and(|opset| {
                    opset
                        .iter()
                        .any(|x| x.number == OPSET_DOMAIN && x.bytes == domain.as_bytes())
                })
        })
    }

    /// The model again, its graph rewritten: the nodes in `dropped` (indexes into `nodes`)
    /// are left out, `replace` writes the graph fields standing for the node at an index
    /// into `nodes` (returning `Some(false)` to keep the node as it was, `None` to give up),
    /// and `model_extra` (encoded `ModelProto` fields) is appended after the rest.
    pub(super) fn rewritten(
        &self,
        dropped: &HashSet<usize>,
        mut replace: impl FnMut(usize, &mut Vec<u8>) -> Option<bool>,
        model_extra: &[u8],
    ) -> Option<Vec<u8>> {
        let node_at: HashMap<usize, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(n, (field, _))| (*field, n))
            .collect();
        let mut graph = Vec::with_capacity(self.model_fields[self.graph].bytes.len() + 4096);
        for (i, field) in self.fields.iter().enumerate() {
            match node_at.get(&i) {
                Some(n) if dropped.contains(n) => {}
                Some(&n) if replace(n, &mut graph)? => {}
                _ => graph.extend_from_slice(field.raw),
            }
        }
        let mut out = Vec::with_capacity(graph.len() + 4096);
        for (i, field) in self.model_fields.iter().enumerate() {
            if i == self.graph {
                put_bytes(&mut out, MODEL_GRAPH, &graph);
            } else {
                out.extend_from_slice(field.raw);
            }
        }
        out.extend_from_slice(model_extra);
        Some(out)
    }
}

/// Builders and readers for the rewrites' tests.
#[cfg(test)]
pub(super) mod test_support {
    use super::*;

    /// A `TensorProto` header: name, type, shape, and `raw_data` when given.
    pub(in super::super) fn initializer(
        name: &str,
        data_type: u64,
        dims: &[i64],
        raw_data: &[u8],
    ) -> Vec<u8> {
        let mut t = Vec::new();
        let mut packed = Vec::new();
        for &d in dims {
            put_varint(&mut packed, d as u64);
        }
        put_bytes(&mut t, TENSOR_DIMS, &packed);
        put_int(&mut t, TENSOR_DATA_TYPE, data_type);
        put_bytes(&mut t, TENSOR_NAME, name.as_bytes());
        if !raw_data.is_empty() {
            put_bytes(&mut t, TENSOR_RAW_DATA, raw_data);
        }
        t
    }

    /// A model (IR version 8, producer "test") with one graph of `nodes` and `initializers`.
    pub(in super::super) fn model(nodes: &[Vec<u8>], initializers: &[Vec<u8>]) -> Vec<u8> {
        let mut graph = Vec::new();
        for node in nodes {
            put_bytes(&mut graph, GRAPH_NODE, node);
        }
        for init in initializers {
            put_bytes(&mut graph, GRAPH_INITIALIZER, init);
        }
        let mut model = Vec::new();
        put_int(&mut model, 1, 8); // ir_version
        put_bytes(&mut model, MODEL_GRAPH, &graph);
        put_bytes(&mut model, 2, b"test"); // producer_name
        model
    }

    /// A node named after its output.
    pub(in super::super) fn node(
        op_type: &str,
        inputs: &[&str],
        output: &str,
        int: Option<(&str, i64)>,
    ) -> Vec<u8> {
        Node::encode(op_type, output, inputs, output, int)
    }

    pub(in super::super) fn graph_nodes(model: &[u8]) -> Vec<Node> {
        let graph = Graph::parse(model).unwrap();
        graph.nodes.into_iter().map(|(_, node)| node).collect()
    }

    pub(in super::super) fn initializers(model: &[u8]) -> HashMap<String, (Vec<i64>, Vec<u8>)> {
        let graph = Graph::parse(model).unwrap();
        graph
            .initializers
            .values()
            .map(|i| {
                let data = i.float_bytes().unwrap_or_default().to_vec();
                (i.name.clone(), (i.dims.clone(), data))
            })
            .collect()
    }

    /// A rewrite: the new model and how many places it changed.
    type Rewrite = fn(&[u8]) -> Option<(Vec<u8>, usize)>;

    /// Every truncation of `model` is refused by `rewrite` or read as what it is.
    pub(in super::super) fn check_truncations(model: &[u8], rewrite: Rewrite) {
        for cut in 1..model.len() {
            if let Some((out, _)) = rewrite(&model[..cut]) {
                assert!(fields(&out).is_some());
            }
        }
    }
}
