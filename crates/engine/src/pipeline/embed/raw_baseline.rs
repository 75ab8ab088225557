//! The bench's yardstick: the model on a bare ONNX Runtime session, without fastembed.

use super::*;

/// The same model and tokenizer on a bare ONNX Runtime session: tokenize, run, mean-pool,
/// normalise. No sorting, no fastembed. The bench's yardstick.
pub struct RawBaseline {
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    output: &'static str,
}

impl RawBaseline {
    pub fn load(model_dir: &Path, spec: &'static ModelSpec, opts: &EmbedOptions) -> Result<Self> {
        spec.check_files(model_dir, true)?;
        Self::with_model(model_dir, spec, opts, &model_graph(model_dir, spec)?)
    }

    /// The baseline running `model` (the bytes of an ONNX model) with `spec`'s tokenizer.
    pub(super) fn with_model(
        model_dir: &Path,
        spec: &'static ModelSpec,
        opts: &EmbedOptions,
        model: &[u8],
    ) -> Result<Self> {
        let env = environment(model_dir)?;
        let files = model_dir.join(spec.dir);
        let model_error = |e: String| Error::Model(format!("raw baseline: {e}"));
        let mut tokenizer = Tokenizer::from_file(files.join("tokenizer.json"))
            .map_err(|e| model_error(e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: spec.max_tokens,
                ..Default::default()
            }))
            .map_err(|e| model_error(e.to_string()))?;
        let session = Session::builder(&env)
            .map_err(|e| model_error(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| model_error(e.to_string()))?
            .with_intra_threads(opts.intra_threads())
            .map_err(|e| model_error(e.to_string()))?
            .commit_from_memory(model)
            .map_err(|e| model_error(e.to_string()))?;
        Ok(RawBaseline {
            session: Mutex::new(session),
            tokenizer,
            output: spec.output,
        })
    }

    /// Embeds one batch exactly as given (the caller picks the batch).
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let err = |e: String| Error::Model(format!("raw baseline: {e}"));
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| err(e.to_string()))?;
        let rows = encodings.len();
        let cols = encodings.first().map_or(0, |e| e.len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<i64> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().map(|&x| x as i64))
                .collect()
        };
        let ids = flat(&|e| e.get_ids());
        let mask = flat(&|e| e.get_attention_mask());
        let types = flat(&|e| e.get_type_ids());
        let shape = [rows as i64, cols as i64];
        let tensor =
            |data: Vec<i64>| Tensor::from_array((shape, data)).map_err(|e| err(e.to_string()));
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session
            .run(ort::inputs![
                "input_ids" => tensor(ids)?,
                "attention_mask" => tensor(mask.clone())?,
                "token_type_ids" => tensor(types)?,
            ])
            .map_err(|e| err(e.to_string()))?;
        let (out_shape, data) = outputs[self.output]
            .try_extract_tensor::<f32>()
            .map_err(|e| err(e.to_string()))?;
        let dims = out_shape[2] as usize;
        let mut result = Vec::with_capacity(rows);
        for r in 0..rows {
            let mut pooled = vec![0f32; dims];
            for c in 0..cols {
                if mask[r * cols + c] == 0 {
                    continue;
                }
                let base = (r * cols + c) * dims;
                for (p, v) in pooled.iter_mut().zip(&data[base..base + dims]) {
                    *p += v;
                }
            }
            // Mean pooling then L2 normalisation; the mean's divisor cancels out.
            let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            result.push(pooled.iter().map(|x| x / norm).collect());
        }
        Ok(result)
    }
}
