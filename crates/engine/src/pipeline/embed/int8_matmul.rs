//! Runs a model's weight matmuls in int8 instead of on f32 copies of its int8 weights.
//!
//! The shipped model computes each projection as `MatMul(x, Mul(Cast(w_q), scale))`: `w_q`
//! is int8 with one scale per output column. ONNX Runtime folds the dequantized weights
//! into f32 constants (42 MiB per session for MiniLM-L6's 36 matmuls) and multiplies in
//! f32. ONNX Runtime's own `com.microsoft.DynamicQuantizeMatMul(x, w_q, scale)` quantizes
//! `x` per call (uint8, one scale per tensor) and multiplies in integers: on this project's
//! 2-core machine the bare session ran 1.5-1.75x faster and held 31 instead of 62 MiB.
//!
//! Unlike [`super::gather_first`], this changes the numbers: quantizing the activations
//! loses precision (cosine to the f32 result about 0.994 on real code, never below 0.98).
//! A model version therefore opts in ([`crate::models::ModelSpec::int8_matmuls`]) and gets
//! an id of its own, so its vectors are never mixed with the f32 version's.

use std::collections::{HashMap, HashSet};

use super::onnx_graph::{
    put_bytes, put_int, Graph, Node, FLOAT, GRAPH_INITIALIZER, GRAPH_NODE, MODEL_OPSET_IMPORT,
    NODE_DOMAIN, OPSET_DOMAIN, OPSET_VERSION, TENSOR_DATA_TYPE, TENSOR_DIMS, TENSOR_NAME,
    TENSOR_RAW_DATA,
};

const MICROSOFT: &str = "com.microsoft";

/// One weight matmul to rewrite: the `Cast` and `Mul` that dequantize its weights.
struct WeightMatmul {
    cast: usize,
    mul: usize,
    weights: String,
    /// The column scales as little-endian f32, one per output column.
    scales: Vec<u8>,
    columns: i64,
}

/// `model` (an ONNX `ModelProto`) with every matmul by dequantized int8 weights turned into
/// a `DynamicQuantizeMatMul` on the int8 weights, and how many; `None` when there is none
/// or the bytes are not understood.
pub fn rewrite(model: &[u8]) -> Option<(Vec<u8>, usize)> {
    let graph = Graph::parse(model)?;
    let nodes = &graph.nodes;
    let mut found = Vec::new();
    for (m, (_, matmul)) in nodes.iter().enumerate() {
        let plain_matmul = matmul.is("MatMul")
            && matmul.inputs.len() == 2
            && matmul.outputs.len() == 1
            && !matmul.other_attributes;
        if !plain_matmul {
            continue;
        }
        let Some(d) = graph.dequantized_int8(&matmul.inputs[1]) else {
            continue;
        };
        let (weights, scale) = (d.quantized, d.scale);
        let Some(&columns) = weights.dims.get(1) else {
            continue;
        };
        // Two-dimensional weights, one scale per output column: shape [N] or [1, N].
        let per_column = weights.dims.len() == 2
            && scale.dims.last() == Some(&columns)
            && scale.dims.iter().product::<i64>() == columns;
        let hit = scale
            .float_bytes()
            .filter(|scales| per_column && scales.len() as i64 == columns * 4)
            .map(|scales| WeightMatmul {
                cast: d.cast,
                mul: d.mul,
                weights: weights.name.clone(),
                scales: scales.to_vec(),
                columns,
            });
        found.extend(hit.map(|w| (m, w)));
    }
    if found.is_empty() {
        return None;
    }

    let dropped: HashSet<usize> = found.iter().flat_map(|(_, w)| [w.cast, w.mul]).collect();
    let replaced: HashMap<usize, &WeightMatmul> = found.iter().map(|(m, w)| (*m, w)).collect();
    // DynamicQuantizeMatMul is in ONNX Runtime's com.microsoft operator set, version 1.
    let mut opset = Vec::new();
    if !graph.imports(MICROSOFT) {
        let mut import = Vec::new();
        put_bytes(&mut import, OPSET_DOMAIN, MICROSOFT.as_bytes());
        put_int(&mut import, OPSET_VERSION, 1);
        put_bytes(&mut opset, MODEL_OPSET_IMPORT, &import);
    }
    let out = graph.rewritten(
        &dropped,
        |m, graph_out| {
            let Some(w) = replaced.get(&m) else {
                return Some(false);
            };
            let matmul = &nodes[m].1;
            // The operator wants the scales as a 1-D tensor: a copy of them, shape [N].
            let scales = format!("ferret.int8_matmul/{m}/scales");
            let mut tensor = Vec::new();
            put_int(&mut tensor, TENSOR_DIMS, w.columns as u64);
            put_int(&mut tensor, TENSOR_DATA_TYPE, FLOAT);
            put_bytes(&mut tensor, TENSOR_NAME, scales.as_bytes());
            put_bytes(&mut tensor, TENSOR_RAW_DATA, &w.scales);
            put_bytes(graph_out, GRAPH_INITIALIZER, &tensor);
            let mut node = Node::encode(
                "DynamicQuantizeMatMul",
                &format!("ferret.int8_matmul/{m}/node"),
                &[&matmul.inputs[0], &w.weights, &scales],
                &matmul.outputs[0],
                None,
            );
            put_bytes(&mut node, NODE_DOMAIN, MICROSOFT.as_bytes());
            put_bytes(graph_out, GRAPH_NODE, &node);
            Some(true)
        },
        &opset,
    )?;
    Some((out, found.len()))
}

#[cfg(test)]
mod tests {
    use super::super::onnx_graph::test_support::{
        check_truncations, graph_nodes, initializer, initializers, model, node,
    };
    use super::super::onnx_graph::{fields, INT8};
    use super::*;

    const SCALES: [f32; 3] = [0.5, 0.25, 2.0];

    fn scale_bytes() -> Vec<u8> {
        SCALES.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    /// `y = MatMul(x, Mul(Cast(w_q), scale))` with `w_q` int8 [4, 3], plus `extra` nodes.
    fn matmul_model(weights_type: u64, scale_dims: &[i64], extra: &[Vec<u8>]) -> Vec<u8> {
        let mut nodes = vec![
            node("Cast", &["w_q"], "w_f", Some(("to", 1))),
            node("Mul", &["scale", "w_f"], "w", None),
            node("MatMul", &["x", "w"], "y", None),
        ];
        nodes.extend_from_slice(extra);
        model(
            &nodes,
            &[
                initializer("w_q", weights_type, &[4, 3], &[1; 12]),
                initializer("scale", FLOAT, scale_dims, &scale_bytes()),
            ],
        )
    }

    fn opset_imports(model: &[u8]) -> Vec<Vec<u8>> {
        fields(model)
            .unwrap()
            .into_iter()
            .filter(|f| f.number == MODEL_OPSET_IMPORT)
            .map(|f| f.bytes.to_vec())
            .collect()
    }

    #[test]
    fn a_matmul_by_dequantized_weights_multiplies_the_int8_weights() {
        for scale_dims in [&[3][..], &[1, 3]] {
            let (out, count) = rewrite(&matmul_model(INT8, scale_dims, &[])).unwrap();
            assert_eq!(count, 1);
            let nodes = graph_nodes(&out);
            assert_eq!(nodes.len(), 1, "the Cast and the Mul are gone");
            let op = &nodes[0];
            assert_eq!(op.op_type, "DynamicQuantizeMatMul");
            assert_eq!(op.domain, "com.microsoft");
            assert_eq!(op.inputs[..2], ["x", "w_q"]);
            assert_eq!(
                op.outputs,
                ["y"],
                "the rest of the graph reads the same value"
            );
            // The scales, copied as a 1-D tensor with the same values.
            let inits = initializers(&out);
            let (dims, data) = &inits[&op.inputs[2]];
            assert_eq!(dims, &[3]);
            assert_eq!(data, &scale_bytes());
            // The operator set is imported once.
            let imports = opset_imports(&out);
            assert_eq!(imports.len(), 1);
        }
    }

    #[test]
    fn a_model_that_imports_the_operator_set_already_is_not_given_a_second_import() {
        let mut with_import = matmul_model(INT8, &[3], &[]);
        let mut import = Vec::new();
        put_bytes(&mut import, OPSET_DOMAIN, MICROSOFT.as_bytes());
        put_int(&mut import, OPSET_VERSION, 1);
        put_bytes(&mut with_import, MODEL_OPSET_IMPORT, &import);
        let (out, _) = rewrite(&with_import).unwrap();
        assert_eq!(opset_imports(&out), [import]);
    }

    #[test]
    fn anything_else_is_left_alone() {
        // The dequantized weights are read elsewhere too.
        let other_use = node("Shape", &["w"], "s", None);
        assert!(rewrite(&matmul_model(INT8, &[3], &[other_use])).is_none());
        // One scale per row (input channel) is not what the operator computes.
        assert!(rewrite(&matmul_model(INT8, &[4, 1], &[])).is_none());
        // Weights that are not int8.
        assert!(rewrite(&matmul_model(FLOAT, &[3], &[])).is_none());
        // A matmul of two activations.
        let plain = model(&[node("MatMul", &["x", "z"], "y", None)], &[]);
        assert!(rewrite(&plain).is_none());
        assert!(rewrite(b"\xff\xff\xff").is_none());
        assert!(rewrite(&[]).is_none());
    }

    #[test]
    fn truncated_models_are_refused_not_misread() {
        check_truncations(&matmul_model(INT8, &[3], &[]), rewrite);
    }
}
