//! Registering a toy kind and building it from TOML; error message snapshots.

#![allow(clippy::unwrap_used)]

use kinema_core::registry::{build, build_at, describe_all, BoxError, BuildSite};
use kinema_core::{register, Component, Config, Kind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

trait Shape {
    fn area(&self) -> f64;
}

struct ShapeKind;
impl Kind for ShapeKind {
    const NAME: &'static str = "shape";
    type Context = f64;
    type Output = dyn Shape;
}

struct Square(f64);
impl Shape for Square {
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

/// A square, scaled by the context.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SquareConfig {
    /// Side length.
    side: f64,
    /// How many copies.
    #[serde(default = "one")]
    copies: u32,
}
fn one() -> u32 {
    1
}

impl Component<ShapeKind> for Square {
    type Config = SquareConfig;
    fn build(config: &SquareConfig, scale: &f64, _site: &BuildSite<'_>) -> Result<Box<dyn Shape>, BoxError> {
        if config.side < 0.0 {
            return Err("side must be >= 0".into());
        }
        Ok(Box::new(Square(config.side * scale * config.copies as f64)))
    }
}
register!(ShapeKind, "Square", Square);
register!(ShapeKind, "Block", Square);

fn cfg(text: &str) -> Config {
    Config::from_toml_str(text, "shapes.toml").unwrap()
}

#[test]
fn builds_by_type_and_fills_defaults() {
    let c = cfg("[model]\ntype = \"Square\"\nside = 2.0\n");
    let built = build_at::<ShapeKind>(&c, "model", &1.5).unwrap();
    assert_eq!(built.component.area(), 9.0);
    assert_eq!(built.resolved_config(), serde_json::json!({"type": "Square", "side": 2.0, "copies": 1}));
    let alias = build::<ShapeKind>(
        &serde_json::json!({"type": "Block", "side": 1.0}),
        &BuildSite::detached(Default::default()),
        &1.0,
    )
    .unwrap();
    assert_eq!(alias.type_name, "Block");
}

#[test]
fn mmengine_scoped_type_names_build() {
    let site = BuildSite::detached(Default::default());
    let built = build::<ShapeKind>(&serde_json::json!({"type": "mmaction.Square", "side": 2.0}), &site, &1.0).unwrap();
    assert_eq!((built.type_name, built.component.area()), ("Square", 4.0));
    let unknown = build::<ShapeKind>(&serde_json::json!({"type": "mmaction.Circle", "side": 2.0}), &site, &1.0);
    assert!(unknown.is_err_and(|e| e.to_string().contains("unknown shape \"mmaction.Circle\"")));
}

fn err(text: &str) -> String {
    let c = cfg(text);
    match build_at::<ShapeKind>(&c, "model.head", &1.0) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn error_unknown_type() {
    assert_eq!(
        err("[model.head]\ntype = \"Squar\"\nside = 1.0\n"),
        "shapes.toml: `model.head.type`: unknown shape \"Squar\" (did you mean \"Square\"?); known shapes: Block, Square"
    );
}

#[test]
fn error_unknown_field() {
    assert_eq!(
        err("[model.head]\ntype = \"Square\"\nside = 1.0\ncopy = 2\n"),
        "shapes.toml: `model.head.copy`: unknown field `copy`; expected one of: side, copies (did you mean `copies`?) (in shape Square)"
    );
}

#[test]
fn error_missing_field() {
    assert_eq!(
        err("[model.head]\ntype = \"Square\"\n"),
        "shapes.toml: `model.head.side`: missing required field `side` (in shape Square)"
    );
}

#[test]
fn error_wrong_type() {
    assert_eq!(
        err("[model.head]\ntype = \"Square\"\nside = 1.0\ncopies = \"two\"\n"),
        "shapes.toml: `model.head.copies`: wrong type: expected u32, found string \"two\" (in shape Square)"
    );
}

#[test]
fn error_missing_section_and_component_failure() {
    assert_eq!(
        err("[model]\n"),
        "shapes.toml: `model.head`: missing; expected a table with a `type` key naming a shape"
    );
    assert_eq!(
        err("[model.head]\ntype = \"Square\"\nside = -1.0\n"),
        "shapes.toml: `model.head`: cannot build shape Square: side must be >= 0"
    );
    assert_eq!(
        err("[model.head]\nside = 1.0\n"),
        "shapes.toml: `model.head.type`: missing or not a string; expected the name of a shape (known: Block, Square)"
    );
}

#[test]
fn describes_fields_for_list_registry() {
    let info = describe_all().into_iter().find(|c| c.kind == "shape" && c.name == "Square").unwrap();
    assert_eq!(info.doc, "A square, scaled by the context.");
    let names: Vec<_> = info.fields.iter().map(|f| (f.name.as_str(), f.required, f.default.clone())).collect();
    assert_eq!(names, vec![("side", true, None), ("copies", false, Some(serde_json::json!(1)))]);
    assert_eq!(info.fields[0].doc, "Side length.");
}
