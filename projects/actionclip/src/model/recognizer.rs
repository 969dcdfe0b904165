//! The engine's view of ActionCLIP: the [`Recognizer`] trait.

use kinema_models::recognizer::{LossOutput, ModelBatch, StepEnv};
use kinema_models::weights::NamedTensors;
use kinema_models::{ModelError, Recognizer};
use kinema_torch::checkpoint::Checkpoint;
use tch::{nn, Tensor};

use super::{err, ActionClip};

impl Recognizer for ActionClip {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn var_store_mut(&mut self) -> &mut nn::VarStore {
        self.text_features = None;
        &mut self.vs
    }

    fn set_training(&mut self, training: bool) {
        if training {
            self.text_features = None;
        }
        self.training = training;
    }

    fn init_weights(&mut self) -> Result<(), ModelError> {
        if let Some(path) = self.pending_pretrained.take() {
            let file = kinema_models::weights_source::resolve_weights(&path.to_string_lossy(), "model.pretrained")?;
            let ck = crate::checkpoint::read_checkpoint(&file, self.weights_format, Some(self.num_segs))?;
            self.text_features = None;
            crate::config::load_pretrained(self, &ck)?;
        }
        Ok(())
    }

    fn loss(&mut self, batch: &ModelBatch, env: &StepEnv<'_>) -> Result<LossOutput, ModelError> {
        let k = self.prompts.as_ref().map(|p| p.num_templates()).unwrap_or(1);
        let ids = Self::draw_template_ids(env.seed, batch.epoch, &batch.indices, k);
        let frames = self.preprocessor.process(&batch.inputs)?;
        self.loss_with_templates(&frames, &batch.labels, &ids, env)
    }

    fn preprocess(&self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        self.preprocessor.process(inputs)
    }

    fn predict_inputs(&mut self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        self.predict_frames(inputs)
    }

    fn features(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError> {
        let frames = self.preprocessor.process(&batch.inputs)?;
        let b = frames.size().first().copied().unwrap_or(0);
        let (clips, v) = self.views(&frames)?;
        let f = self.encode_video(&clips)?;
        if v == 1 {
            Ok(f)
        } else {
            f.f_view([b, v, -1]).map_err(err("actionclip"))
        }
    }

    fn frame_features(&mut self, frames: &Tensor) -> Result<Option<Tensor>, ModelError> {
        let r = self.input_resolution();
        match frames.size().as_slice() {
            [_, 3, h, w] if *h == r && *w == r => Ok(Some(tch::no_grad(|| self.encode_image(frames))?)),
            size => Err(ModelError::Input {
                module: "actionclip".into(),
                message: format!("expected frames [N, 3, {r}, {r}], got {size:?}"),
            }),
        }
    }

    fn score_frame_features(&mut self, features: &Tensor) -> Result<Tensor, ModelError> {
        let w = features.size().first().copied().unwrap_or(0);
        self.score_clips(features, w)
    }

    fn embed_frame_features(&mut self, features: &Tensor) -> Result<Tensor, ModelError> {
        tch::no_grad(|| self.adapter.forward(features, self.training))
    }

    fn text_embeddings(&mut self) -> Result<Option<Tensor>, ModelError> {
        self.text_features().map(Some)
    }

    fn adapt_weights(&self, checkpoint: &Checkpoint) -> Result<NamedTensors, ModelError> {
        Ok(crate::checkpoint::rename(checkpoint, self.weights_format, Some(self.num_segs))?.tensors)
    }

    fn class_names(&self) -> Option<Vec<String>> {
        self.prompts.as_ref().map(|p| p.labels().to_vec())
    }

    fn default_test_pipeline(&self) -> Option<serde_json::Value> {
        Some(crate::inference::default_test_pipeline(self.num_segs, self.input_resolution()))
    }
}
