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
//! The rewrite works on the protobuf bytes directly ([`super::onnx_graph`]). Anything it
//! does not fully understand is left alone: the original model always works, only with
//! more memory.

use std::collections::{HashMap, HashSet};

use super::onnx_graph::{put_bytes, Graph, Node, FLOAT, GRAPH_NODE};

/// One table lookup to rewrite: the `Gather` node and the `Cast` and `Mul` it replaces.
struct Lookup {
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
    let graph = Graph::parse(model)?;
    let nodes = &graph.nodes;
    let mut lookups = Vec::new();
    for (g, (_, gather)) in nodes.iter().enumerate() {
        let plain_gather = gather.is("Gather")
            && gather.inputs.len() == 2
            && gather.outputs.len() == 1
            && !gather.other_attributes
            && gather.int("axis").unwrap_or(0) == 0;
        if !plain_gather {
            continue;
        }
        let Some(d) = graph.dequantized_int8(&gather.inputs[0]) else {
            continue;
        };
        let (table, scale) = (d.quantized, d.scale);
        let count: i64 = scale.dims.iter().product();
        let per_row = scale.dims.len() == table.dims.len()
            && scale.dims[0] == table.dims[0]
            && scale.dims[1..].iter().all(|&d| d == 1);
        let found = (count == 1 || per_row).then(|| Lookup {
            cast: d.cast,
            mul: d.mul,
            table: table.name.clone(),
            scale: scale.name.clone(),
            scale_per_row: per_row && count != 1,
        });
        lookups.extend(found.map(|lookup| (g, lookup)));
    }
    if lookups.is_empty() {
        return None;
    }

    // The graph again, with each lookup's Gather replaced and its Cast and Mul left out.
    let dropped: HashSet<usize> = lookups.iter().flat_map(|(_, l)| [l.cast, l.mul]).collect();
    let replaced: HashMap<usize, &Lookup> = lookups.iter().map(|(g, l)| (*g, l)).collect();
    let out = graph.rewritten(
        &dropped,
        |g, graph_out| {
            let Some(lookup) = replaced.get(&g) else {
                return Some(false);
            };
            let gather = &nodes[g].1;
            let (ids, output) = (gather.inputs[1].as_str(), gather.outputs[0].as_str());
            let name = |part: &str| format!("ferret.gather_first/{g}/{part}");
            let (rows_q, rows, scales) = (name("rows_q"), name("rows"), name("scales"));
            let mut added = 0;
            let mut add = |op: &str, inputs: &[&str], output: &str, int: Option<(&str, i64)>| {
                added += 1;
                let node = Node::encode(op, &name(&format!("node{added}")), inputs, output, int);
                put_bytes(graph_out, GRAPH_NODE, &node);
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
            Some(true)
        },
        &[],
    )?;
    Some((out, lookups.len()))
}

#[cfg(test)]
mod tests {
    use super::super::onnx_graph::test_support::{
        check_truncations, graph_nodes, initializer, node,
    };
    use super::super::onnx_graph::{fields, put_int, INT8};
    use super::*;

    /// A model whose graph is `Gather(Mul(Cast(table_q), scale), ids)` plus `extra` nodes.
    fn model(scale_dims: &[i64], extra: &[Vec<u8>]) -> Vec<u8> {
        let mut nodes = vec![
            node("Cast", &["table_q"], "table_f", Some(("to", 1))),
            node("Mul", &["table_f", "scale"], "table", None),
            node("Gather", &["table", "ids"], "rows", Some(("axis", 0))),
        ];
        nodes.extend_from_slice(extra);
        super::super::onnx_graph::test_support::model(
            &nodes,
            &[
                initializer("table_q", INT8, &[10, 4], &[]),
                initializer("scale", FLOAT, scale_dims, &[]),
            ],
        )
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
        let other_use = node("Shape", &["table"], "s", None);
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
        check_truncations(&model(&[10, 1], &[]), rewrite);
    }
}
