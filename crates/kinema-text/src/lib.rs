//! OpenAI CLIP's BPE tokenizer (ids identical to clip.tokenize).
