//! Kubernetes argv semantics (docs/webhook.md, "Argv semantics"): what a container really runs, given the pod's
//! `command`/`args` and the image's `ENTRYPOINT`/`CMD`, and the `$` escaping that keeps
//! image-derived strings unchanged through the kubelet's `$(VAR)` expansion.

use std::borrow::Cow;

use crate::images::ImageConfig;

/// Where the wrapped argv came from, for the original-argv annotation and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// `command` set: copied verbatim, the image is not consulted.
    Pod,
    /// `command` unset, `args` set: image ENTRYPOINT + pod args.
    ImageEntrypoint,
    /// Neither set: image ENTRYPOINT + image CMD.
    Image,
}

impl Source {
    /// The name in the original-argv annotation (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Pod => "pod",
            Source::ImageEntrypoint => "imageEntrypoint",
            Source::Image => "image",
        }
    }
}

/// Why no argv could be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgvError {
    /// The image sets neither ENTRYPOINT nor CMD and the pod sets neither command nor args.
    #[error("the image sets neither ENTRYPOINT nor CMD and the container sets neither command nor args")]
    NothingToRun,
}

/// True when a pod field counts as "set": the kubelet treats an empty list like an absent one.
pub fn is_set<S>(v: Option<&Vec<S>>) -> bool {
    v.is_some_and(|v| !v.is_empty())
}

/// True when the container's argv can be computed without the image config.
pub fn needs_image<S>(command: Option<&Vec<S>>) -> bool {
    !is_set(command)
}

/// The argv to put after `--`, in the form the kubelet will expand: pod strings verbatim,
/// image strings `$`-escaped. `image` is only consulted when `command` is unset. Strings are
/// borrowed from the pod and the image config unless escaping changed them.
pub fn resolve<'a, S: AsRef<str>>(
    command: Option<&'a Vec<S>>,
    args: Option<&'a Vec<S>>,
    image: Option<&'a ImageConfig>,
) -> Result<(Vec<Cow<'a, str>>, Source), ArgvError> {
    fn pod_strings<S: AsRef<str>>(v: Option<&Vec<S>>) -> impl Iterator<Item = Cow<'_, str>> {
        v.into_iter().flatten().map(|s| Cow::Borrowed(s.as_ref()))
    }
    if is_set(command) {
        let mut argv: Vec<Cow<str>> = pod_strings(command).collect();
        argv.extend(pod_strings(args));
        return Ok((argv, Source::Pod));
    }
    let entrypoint = image.map_or(&[][..], image_entrypoint);
    let mut argv = escape_all(entrypoint);
    let source = if is_set(args) {
        argv.extend(pod_strings(args));
        Source::ImageEntrypoint
    } else {
        let cmd = image.and_then(|i| i.cmd.as_deref()).unwrap_or_default();
        argv.extend(cmd.iter().map(|s| escape(s)));
        Source::Image
    };
    if argv.is_empty() {
        return Err(ArgvError::NothingToRun);
    }
    Ok((argv, source))
}

/// The image's ENTRYPOINT as container runtimes read it: `[""]` (Dockerfile `ENTRYPOINT []`
/// written by some builders) means none.
fn image_entrypoint(image: &ImageConfig) -> &[String] {
    match image.entrypoint.as_deref() {
        Some([only]) if only.is_empty() => &[],
        Some(e) => e,
        None => &[],
    }
}

/// Doubles every `$`, so the kubelet's expansion turns the string back into itself.
pub fn escape(s: &str) -> Cow<'_, str> {
    if s.contains('$') {
        Cow::Owned(s.replace('$', "$$"))
    } else {
        Cow::Borrowed(s)
    }
}

fn escape_all(v: &[String]) -> Vec<Cow<'_, str>> {
    v.iter().map(|s| escape(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_the_serde_names() {
        for s in [Source::Pod, Source::ImageEntrypoint, Source::Image] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn img(e: Option<&[&str]>, c: Option<&[&str]>) -> ImageConfig {
        ImageConfig {
            entrypoint: e.map(v),
            cmd: c.map(v),
            ..Default::default()
        }
    }

    /// Every row of the argv table (docs/webhook.md) × image shapes × `$` in pod and image strings.
    #[test]
    fn argv_table() {
        let e = Some(&["/bin/ep", "$HOME"][..]);
        let c = Some(&["serve", "$(PORT)"][..]);
        let cmd = v(&["/app", "$(PORT)"]);
        let args = v(&["--x", "$$y"]);
        let none = v(&[]);
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            Option<&Vec<String>>,
            Option<&Vec<String>>,
            ImageConfig,
            Result<(Vec<String>, Source), ArgvError>,
        )> = vec![
            // unset/unset: ENTRYPOINT + CMD, both escaped
            (
                None,
                None,
                img(e, c),
                Ok((v(&["/bin/ep", "$$HOME", "serve", "$$(PORT)"]), Source::Image)),
            ),
            (
                None,
                None,
                img(None, c),
                Ok((v(&["serve", "$$(PORT)"]), Source::Image)),
            ),
            (
                None,
                None,
                img(e, None),
                Ok((v(&["/bin/ep", "$$HOME"]), Source::Image)),
            ),
            (
                None,
                None,
                img(Some(&[""]), c),
                Ok((v(&["serve", "$$(PORT)"]), Source::Image)),
            ),
            (None, None, img(None, None), Err(ArgvError::NothingToRun)),
            (
                Some(&none),
                Some(&none),
                img(None, None),
                Err(ArgvError::NothingToRun),
            ),
            // empty lists count as unset
            (
                Some(&none),
                None,
                img(e, c),
                Ok((v(&["/bin/ep", "$$HOME", "serve", "$$(PORT)"]), Source::Image)),
            ),
            // unset/set: ENTRYPOINT (escaped) + pod args (verbatim), CMD dropped
            (
                None,
                Some(&args),
                img(e, c),
                Ok((v(&["/bin/ep", "$$HOME", "--x", "$$y"]), Source::ImageEntrypoint)),
            ),
            (
                None,
                Some(&args),
                img(None, c),
                Ok((v(&["--x", "$$y"]), Source::ImageEntrypoint)),
            ),
            (
                None,
                Some(&args),
                img(None, None),
                Ok((v(&["--x", "$$y"]), Source::ImageEntrypoint)),
            ),
            // set/unset: pod command verbatim, image ignored
            (
                Some(&cmd),
                None,
                img(e, c),
                Ok((v(&["/app", "$(PORT)"]), Source::Pod)),
            ),
            (
                Some(&cmd),
                Some(&none),
                img(None, None),
                Ok((v(&["/app", "$(PORT)"]), Source::Pod)),
            ),
            // set/set: pod command + pod args verbatim
            (
                Some(&cmd),
                Some(&args),
                img(e, c),
                Ok((v(&["/app", "$(PORT)", "--x", "$$y"]), Source::Pod)),
            ),
        ];
        for (i, (command, args, image, want)) in rows.into_iter().enumerate() {
            assert_eq!(owned(resolve(command, args, Some(&image))), want, "row {i}");
        }
    }

    #[test]
    fn pod_command_never_needs_the_image() {
        let cmd = v(&["/app"]);
        assert!(!needs_image(Some(&cmd)));
        assert!(needs_image::<String>(None));
        assert!(needs_image(Some(&v(&[]))));
        assert_eq!(
            owned(resolve(Some(&cmd), None, None)),
            Ok((cmd.clone(), Source::Pod))
        );
    }

    fn owned(r: Result<(Vec<Cow<str>>, Source), ArgvError>) -> Result<(Vec<String>, Source), ArgvError> {
        r.map(|(argv, source)| (argv.into_iter().map(Cow::into_owned).collect(), source))
    }

    #[test]
    fn escape_doubles_every_dollar() {
        assert_eq!(escape("a$b$$c$(X)"), "a$$b$$$$c$$(X)");
        assert_eq!(escape("plain"), "plain");
    }
}
