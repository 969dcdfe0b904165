//! Building components from config tables.

use serde_json::Value;

use super::component::FieldError;
use super::errors::{closest, describe_serde_problem};
use super::registration::{entries_of, Registration};
use super::{BuildError, Component, Kind};
use crate::config::{type_name, Config, KeyPath, Source};

/// Where in a config a component is being built: its dotted path and, when the config
/// is known, the file each value came from (for error messages).
#[derive(Clone)]
pub struct BuildSite<'a> {
    path: KeyPath,
    config: Option<&'a Config>,
}

impl<'a> BuildSite<'a> {
    /// The root of `config`.
    pub fn root(config: &'a Config) -> Self {
        BuildSite { path: KeyPath::root(), config: Some(config) }
    }

    /// A site with no config behind it (programmatic builds, tests).
    pub fn detached(path: KeyPath) -> Self {
        BuildSite { path, config: None }
    }

    /// The site at `path` of the same config.
    pub fn at(&self, path: KeyPath) -> Self {
        BuildSite { path, config: self.config }
    }

    /// The site of key `key` below this one.
    pub fn key(&self, key: &str) -> Self {
        self.at(self.path.key(key))
    }

    /// The site of list item `index` below this one.
    pub fn index(&self, index: usize) -> Self {
        self.at(self.path.index(index))
    }

    /// The dotted path of this site.
    pub fn path(&self) -> &KeyPath {
        &self.path
    }

    /// The config, when known.
    pub fn config(&self) -> Option<&'a Config> {
        self.config
    }

    /// The file (or option) that set the value at `path`.
    pub fn source_of(&self, path: &KeyPath) -> Source {
        match self.config {
            Some(c) => c.source_of(path),
            None => Source::Program,
        }
    }
}

/// A built component together with the config it was built from (defaults filled in).
pub struct Built<O: ?Sized> {
    /// The component.
    pub component: Box<O>,
    /// Its registered name (the `type`).
    pub type_name: &'static str,
    /// Its kind's name.
    pub kind: &'static str,
    config: Box<dyn erased_serde::Serialize + Send + Sync>,
}

impl<O: ?Sized> Built<O> {
    /// The resolved config that was built, `type` first: what to dump as "what ran".
    pub fn resolved_config(&self) -> Value {
        with_type(self.type_name, serde_json::to_value(&*self.config).unwrap_or(Value::Null))
    }

    /// The component alone.
    pub fn into_inner(self) -> Box<O> {
        self.component
    }
}

/// Deserializes a component's typed config from its table, with the file and the full
/// dotted path in errors.
fn parse_config<T: serde::de::DeserializeOwned>(
    value: Value,
    site: &BuildSite<'_>,
    kind: &'static str,
    name: &'static str,
) -> Result<T, BuildError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let at = site.path().join_dotted(&err.path().to_string().replace('?', ""));
        let at = if err.path().to_string() == "." { site.path().clone() } else { at };
        let (path, problem) = describe_serde_problem(&err.inner().to_string(), &at);
        BuildError::Field { source_of: site.source_of(&path), path, kind, type_name: name.to_string(), problem }
    })
}

/// `{type, ...fields}` with the fields of a typed config.
fn with_type(name: &str, fields: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("type".into(), Value::String(name.to_string()));
    if let Value::Object(map) = fields {
        out.extend(map);
    }
    Value::Object(out)
}

/// True when `err` or one of its causes is a [`BuildError`] (which names its own key).
fn holds_build_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<BuildError>() || e.is::<Box<BuildError>>() {
            return true;
        }
        cause = e.source();
    }
    false
}

pub(crate) fn build_typed<K: Kind, C: Component<K>>(
    value: Value,
    site: &BuildSite<'_>,
    ctx: &K::Context,
    name: &'static str,
) -> Result<Built<K::Output>, BuildError> {
    let config: C::Config = parse_config(value, site, K::NAME, name)?;
    let component = C::build(&config, ctx, site).map_err(|source| match source.downcast::<FieldError>() {
        Ok(field) => {
            let path = site.path().join_dotted(&field.field);
            BuildError::Field {
                source_of: site.source_of(&path),
                path,
                kind: K::NAME,
                type_name: name.to_string(),
                problem: field.message,
            }
        }
        Err(source) if holds_build_error(source.as_ref()) => BuildError::Inner(source),
        Err(source) => BuildError::Component {
            source_of: site.source_of(site.path()),
            path: site.path().clone(),
            kind: K::NAME,
            type_name: name.to_string(),
            source,
        },
    })?;
    Ok(Built { component, type_name: name, kind: K::NAME, config: Box::new(config) })
}

/// A component's table with its defaults filled in, without building it.
pub(crate) fn resolve_typed<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: Value,
    site: &BuildSite<'_>,
    kind: &'static str,
    name: &'static str,
) -> Result<Value, BuildError> {
    let config: T = parse_config(value, site, kind, name)?;
    Ok(with_type(name, serde_json::to_value(&config).unwrap_or(Value::Null)))
}

/// Finds the registration a component table names by its `type`, among `registered`
/// (the registrations of kind `kind`); returns it and the table without `type`/`_scope_`.
pub(crate) fn find_registration(
    registered: &[&'static Registration],
    kind: &'static str,
    value: &Value,
    site: &BuildSite<'_>,
) -> Result<(&'static Registration, Value), BuildError> {
    let path = site.path().clone();
    let Value::Object(table) = value else {
        return Err(BuildError::NotATable { source_of: site.source_of(&path), path, kind, found: type_name(value) });
    };
    let known: Vec<&'static str> = dedup_names(registered);
    let Some(Value::String(name)) = table.get("type") else {
        return Err(BuildError::MissingType { source_of: site.source_of(&path.key("type")), path, kind, known });
    };
    // MMEngine's scoped names (`mmaction.TSMOptimWrapperConstructor`): Kinema has one
    // registry per kind, so the scope only picks among equal names (none here).
    let bare = match name.rsplit_once('.') {
        Some((scope, bare)) if !registered.iter().any(|r| r.name == name) && is_identifier(scope) => bare,
        _ => name.as_str(),
    };
    let matches: Vec<_> = registered.iter().filter(|r| r.name == bare).collect();
    let Some(first) = matches.first() else {
        return Err(BuildError::UnknownType {
            source_of: site.source_of(&path.key("type")),
            path,
            kind,
            name: name.clone(),
            suggestion: closest(name, &known),
            known,
        });
    };
    if matches.len() > 1 {
        return Err(BuildError::Duplicate {
            kind,
            name: name.clone(),
            modules: matches.iter().map(|r| r.module).collect(),
        });
    }
    let mut rest = table.clone();
    rest.shift_remove("type");
    rest.shift_remove("_scope_");
    Ok((first, Value::Object(rest)))
}

/// A registry scope name such as `mmaction` or `mmengine`.
fn is_identifier(scope: &str) -> bool {
    let mut chars = scope.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Builds the component of kind `K` described by the table `value` (its `type` picks
/// the registered component; the other keys are its config).
pub fn build<K: Kind>(value: &Value, site: &BuildSite<'_>, ctx: &K::Context) -> Result<Built<K::Output>, BuildError> {
    let registered = entries_of::<K>();
    let (registration, rest) = find_registration(&registered, K::NAME, value, site)?;
    let factory = registration.factory::<K>().ok_or_else(|| BuildError::Duplicate {
        kind: K::NAME,
        name: registration.name.to_string(),
        modules: vec![registration.module],
    })?;
    (factory.build)(rest, site, ctx, registration.name)
}

/// Builds the component at the dotted `key` of `config`.
pub fn build_at<K: Kind>(config: &Config, key: &str, ctx: &K::Context) -> Result<Built<K::Output>, BuildError> {
    let path = KeyPath::parse(key);
    let site = BuildSite::root(config).at(path.clone());
    match config.get_path(&path) {
        Some(value) => build::<K>(value, &site, ctx),
        None => Err(BuildError::Missing { source_of: config.source_of(&path.parent()), path, kind: K::NAME }),
    }
}

/// Builds every table of the list `value` (a pipeline, a hook list).
pub fn build_list<K: Kind>(
    value: &Value,
    site: &BuildSite<'_>,
    ctx: &K::Context,
) -> Result<Vec<Built<K::Output>>, BuildError> {
    match value {
        Value::Array(items) => {
            items.iter().enumerate().map(|(i, item)| build::<K>(item, &site.index(i), ctx)).collect()
        }
        other => Err(BuildError::NotATable {
            source_of: site.source_of(site.path()),
            path: site.path().clone(),
            kind: K::NAME,
            found: type_name(other),
        }),
    }
}

fn dedup_names(regs: &[&'static Registration]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = regs.iter().map(|r| r.name).collect();
    names.dedup();
    names
}
