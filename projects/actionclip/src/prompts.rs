//! ActionCLIP's prompts: its 16 templates, and a label set's prompts (kinema-text's
//! [`PromptSet`], template-major: row `k * C + c`) with their CLIP token ids as a tensor.

use kinema_models::ModelError;
use kinema_text::{ClipTokenizer, LabelSource, PromptSet, TemplateSource};
use tch::{Kind, Tensor};

/// The 16 prompt templates of ActionCLIP (identical in the original repository and
/// MMAction2): the default of `templates_or_template_file`.
pub const DEFAULT_TEMPLATES: [&str; 16] = [
    "a photo of action {}",
    "a picture of action {}",
    "Human action of {}",
    "{}, an action",
    "{} this is an action",
    "{}, a video of action",
    "Playing action of {}",
    "{}",
    "Playing a kind of action, {}",
    "Doing a kind of action, {}",
    "Look, the human is {}",
    "Can you recognize the action of {}?",
    "Video classification of {}",
    "A video of {}",
    "The man is {}",
    "The woman is {}",
];

/// [`DEFAULT_TEMPLATES`] as owned strings.
pub fn default_templates() -> Vec<String> {
    DEFAULT_TEMPLATES.iter().map(|s| s.to_string()).collect()
}

/// [`DEFAULT_TEMPLATES`] as a template source.
pub fn default_template_source() -> TemplateSource {
    TemplateSource::List(default_templates())
}

fn text_error(e: kinema_text::TextError) -> ModelError {
    ModelError::part("prompts", e)
}

/// A label set's prompts and their token ids `[K * C, 77]` (int64, template-major).
#[derive(Debug)]
pub struct TokenizedPrompts {
    set: PromptSet,
    tokens: Tensor,
}

impl TokenizedPrompts {
    /// Tokenises every prompt of `set` with CLIP's tokenizer (a prompt longer than the
    /// context is an error naming its class and template).
    pub fn new(set: PromptSet) -> Result<Self, ModelError> {
        let tokenizer = ClipTokenizer::shared().map_err(text_error)?;
        let batch = set.tokenize(&tokenizer).map_err(text_error)?;
        let [rows, len] = batch.shape();
        let tokens = Tensor::f_from_slice(&batch.into_ids())
            .and_then(|t| t.f_view([rows as i64, len as i64]))
            .map_err(|source| ModelError::Torch { module: "prompts".into(), source })?;
        Ok(TokenizedPrompts { set, tokens })
    }

    /// The prompts of `labels` x `templates` (lists or files).
    pub fn from_sources(labels: &LabelSource, templates: &TemplateSource) -> Result<Self, ModelError> {
        Self::new(PromptSet::from_sources(templates, labels).map_err(text_error)?)
    }

    /// The prompts of two lists (templates with `{}`).
    pub fn from_lists(labels: Vec<String>, templates: Vec<String>) -> Result<Self, ModelError> {
        Self::from_sources(&LabelSource::List(labels), &TemplateSource::List(templates))
    }

    /// Uses already tokenised prompts `[K * C, L]` for `set` (upstream token fixtures).
    pub fn from_tokens(set: PromptSet, tokens: Tensor) -> Result<Self, ModelError> {
        let rows = (set.num_classes() * set.num_templates()) as i64;
        if tokens.dim() != 2 || tokens.size()[0] != rows {
            return Err(ModelError::Input {
                module: "prompts".into(),
                message: format!(
                    "expected tokens [{} templates x {} labels = {rows}, L], got {:?}",
                    set.num_templates(),
                    set.num_classes(),
                    tokens.size()
                ),
            });
        }
        let tokens =
            tokens.f_to_kind(Kind::Int64).map_err(|source| ModelError::Torch { module: "prompts".into(), source })?;
        Ok(TokenizedPrompts { set, tokens })
    }

    /// The prompt texts behind the tokens.
    pub fn set(&self) -> &PromptSet {
        &self.set
    }

    /// The class names, in score order.
    pub fn labels(&self) -> &[String] {
        self.set.labels()
    }

    /// `[K * C, 77]` int64 token ids, template-major.
    pub fn tokens(&self) -> &Tensor {
        &self.tokens
    }

    /// The number of classes C.
    pub fn num_classes(&self) -> usize {
        self.set.num_classes()
    }

    /// The number of templates K.
    pub fn num_templates(&self) -> usize {
        self.set.num_templates()
    }
}
