//! `#[looplet::main]` and `#[looplet::test]`: an `async fn` run to completion on a looplet
//! loop.
//!
//! Both rewrite `async fn name() -> T { body }` into `fn name() -> T` whose body runs the
//! original one on a fresh `Runner` and returns its output, so `()`, `Result` and any other
//! return type work as they would in a plain `fn` (`?` included). `#[looplet::test]` also
//! adds `#[test]` and runs on the virtual clock unless told otherwise, so sleeps in a test
//! take no real time and elapsed times are exact.
//!
//! # How it reads the function
//!
//! Without `syn`: an attribute needs only the shape `[attributes] [visibility] async fn
//! name() [-> Type] { body }`, and this crate finds its parts in the token stream directly
//! (the `fn` keyword, the argument group, the arrow, the final brace group). Everything it
//! does not touch is passed through as written. Building no parser keeps the macros, and so
//! any program using looplet, quick to compile. Anything else — arguments, generics, a
//! `where` clause, a missing `async` — is refused with a message that names the fix.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn main` on a new looplet loop (asyncio's `asyncio.run(main())`).
///
/// The loop keeps real time (or the virtual clock, if `LOOPLET_CLOCK=virtual`); `main` may
/// return `()` or a `Result`. With `clock = "virtual"` it always runs on the virtual clock.
///
/// ```ignore
/// #[looplet::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     let value = looplet::create_task(async { 42 }).await?;
///     println!("{value}");
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(options: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, options, item).unwrap_or_else(|error| error.into_tokens())
}

/// Runs an `async fn` test on a new looplet loop, on the virtual clock unless
/// `clock = "real"` is given.
///
/// ```ignore
/// #[looplet::test]
/// async fn an_hour_passes_at_once() {
///     let start = looplet::now();
///     looplet::sleep(std::time::Duration::from_secs(3600)).await;
///     assert_eq!(looplet::now() - start, std::time::Duration::from_secs(3600));
/// }
///
/// #[looplet::test(clock = "real")]
/// async fn on_the_real_clock() -> Result<(), looplet::TaskError> {
///     looplet::create_task(async {}).await
/// }
/// ```
///
/// With `seeds = N` the body runs N times, each under its own seeded schedule (see
/// `looplet::Builder::seed`); the first failure stops it and prints the seed with the
/// command that replays it alone (`LOOPLET_SEED=… cargo test name`), which then runs that
/// seed only:
///
/// ```ignore
/// #[looplet::test(seeds = 100)]
/// async fn the_cache_is_filled_once() { /* … */ }
/// ```
#[proc_macro_attribute]
pub fn test(options: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, options, item).unwrap_or_else(|error| error.into_tokens())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

/// Which clock the loop runs on.
#[derive(Clone, Copy)]
enum Clock {
    /// `LOOPLET_CLOCK` decides, as for `looplet::run`.
    FromEnvironment,
    Virtual,
    Real,
}

/// A refusal, with the span to point it at.
struct Error {
    message: String,
    span: Span,
}

impl Error {
    fn new(span: Span, message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            span,
        }
    }

    /// `::core::compile_error!("…");`, pointing at the offending tokens.
    fn into_tokens(self) -> TokenStream {
        let mut message = Literal::string(&self.message);
        message.set_span(self.span);
        let mut tokens = path(&["core", "compile_error"], self.span);
        tokens.extend([
            punct('!', self.span),
            TokenTree::Group(Group::new(
                Delimiter::Parenthesis,
                TokenTree::Literal(message).into(),
            )),
            punct(';', self.span),
        ]);
        tokens
    }
}

/// What the attribute's options asked for.
struct Options {
    clock: Clock,
    /// `seeds = N` (tests only): run the body under N seeded schedules.
    seeds: Option<Literal>,
}

fn expand(kind: Kind, options: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let options = parse_options(kind, options)?;
    let function = Function::parse(kind, item)?;
    Ok(function.rewrite(kind, options))
}

/// Reads `clock = "virtual" | "real"` and, for tests, `seeds = N`.
fn parse_options(kind: Kind, options: TokenStream) -> Result<Options, Error> {
    let mut clock = match kind {
        Kind::Main => Clock::FromEnvironment,
        Kind::Test => Clock::Virtual,
    };
    let mut seeds = None;
    let tokens: Vec<TokenTree> = options.into_iter().collect();
    for option in tokens.split(|token| is_punct(token, ',')) {
        match option {
            [] => {}
            [TokenTree::Ident(name), eq, TokenTree::Literal(value)]
                if name.to_string() == "clock" && is_punct(eq, '=') =>
            {
                clock = match value.to_string().as_str() {
                    "\"virtual\"" => Clock::Virtual,
                    "\"real\"" => Clock::Real,
                    _ => {
                        return Err(Error::new(
                            value.span(),
                            "looplet: `clock` is \"virtual\" or \"real\"",
                        ))
                    }
                };
            }
            [TokenTree::Ident(name), eq, TokenTree::Literal(count)]
                if name.to_string() == "seeds" && is_punct(eq, '=') && kind == Kind::Test =>
            {
                if count
                    .to_string()
                    .parse::<u64>()
                    .map_or(true, |count| count == 0)
                {
                    return Err(Error::new(
                        count.span(),
                        "looplet: `seeds` is how many seeded schedules to run, at least 1",
                    ));
                }
                seeds = Some(count.clone());
            }
            [first, ..] => {
                return Err(Error::new(
                    first.span(),
                    "looplet: unknown option; the options are `clock = \"virtual\"` or \
                     `clock = \"real\"`, and for tests `seeds = N`",
                ))
            }
        }
    }
    Ok(Options { clock, seeds })
}

/// An `async fn` cut into the parts the rewrite needs.
struct Function {
    /// Attributes, visibility and anything else before `async`, untouched.
    head: Vec<TokenTree>,
    /// `fn name()`.
    signature: Vec<TokenTree>,
    /// The tokens after `->`, if any.
    output: Option<Vec<TokenTree>>,
    body: Group,
}

impl Function {
    fn parse(kind: Kind, item: TokenStream) -> Result<Function, Error> {
        let attribute = match kind {
            Kind::Main => "#[looplet::main]",
            Kind::Test => "#[looplet::test]",
        };
        let mut tokens: Vec<TokenTree> = item.into_iter().collect();
        let body = match tokens.pop() {
            Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => body,
            other => {
                let span = other.map_or_else(Span::call_site, |token| token.span());
                return Err(Error::new(
                    span,
                    format!("looplet: {attribute} goes on an `async fn` with a body"),
                ));
            }
        };
        let fn_at = tokens
            .iter()
            .position(|token| is_ident(token, "fn"))
            .ok_or_else(|| {
                Error::new(
                    Span::call_site(),
                    format!("looplet: {attribute} goes on an `async fn`"),
                )
            })?;
        let async_at = tokens[..fn_at]
            .iter()
            .rposition(|token| is_ident(token, "async"))
            .ok_or_else(|| {
                Error::new(
                    tokens[fn_at].span(),
                    format!("looplet: {attribute} goes on an `async fn`: add `async`"),
                )
            })?;
        let after_fn = &tokens[fn_at + 1..];
        let (name, arguments, rest) = match after_fn {
            [TokenTree::Ident(name), TokenTree::Group(arguments), rest @ ..]
                if arguments.delimiter() == Delimiter::Parenthesis =>
            {
                (name, arguments, rest)
            }
            [TokenTree::Ident(name), ..] => {
                return Err(Error::new(
                    name.span(),
                    format!("looplet: {attribute} takes a function without generics"),
                ))
            }
            _ => {
                return Err(Error::new(
                    tokens[fn_at].span(),
                    format!("looplet: {attribute} goes on an `async fn name()`"),
                ))
            }
        };
        if !arguments.stream().is_empty() {
            return Err(Error::new(
                arguments.span(),
                format!("looplet: a function under {attribute} takes no arguments"),
            ));
        }
        let output = match rest {
            [] => None,
            [dash, arrow, output @ ..] if is_punct(dash, '-') && is_punct(arrow, '>') => {
                if let Some(clause) = output.iter().find(|token| is_ident(token, "where")) {
                    return Err(Error::new(
                        clause.span(),
                        format!("looplet: a function under {attribute} has no `where` clause"),
                    ));
                }
                Some(output.to_vec())
            }
            [first, ..] => {
                return Err(Error::new(
                    first.span(),
                    format!("looplet: {attribute} expects `-> Type` or the body here"),
                ))
            }
        };
        let signature = vec![
            tokens[fn_at].clone(),
            TokenTree::Ident(name.clone()),
            TokenTree::Group(arguments.clone()),
        ];
        let mut head = tokens;
        head.truncate(fn_at);
        head.remove(async_at);
        Ok(Function {
            head,
            signature,
            output,
            body,
        })
    }

    /// `fn name() -> T { ::looplet::__private::run_to_completion::<T, _>(clock, async move
    /// { … }) }`; naming `T` there lets `?` in the original body infer its error type. With
    /// `seeds = N`: `run_seeded::<T, _, _>(clock, N, module_path!(), "name", || async move
    /// { … })`, which makes the body anew for each seed.
    fn rewrite(self, kind: Kind, options: Options) -> TokenStream {
        let span = self.body.span();
        let name = self.signature[1].to_string();
        let mut tokens = TokenStream::new();
        if kind == Kind::Test {
            tokens.extend([
                punct('#', span),
                bracketed(path(&["core", "prelude", "v1", "test"], span)),
            ]);
        }
        tokens.extend(self.head);
        tokens.extend(self.signature);
        let output: TokenStream = match &self.output {
            Some(output) => output.iter().cloned().collect(),
            None => group(Delimiter::Parenthesis, TokenStream::new()).into(),
        };
        if self.output.is_some() {
            tokens.extend([joint('-', span), punct('>', span)]);
            tokens.extend(output.clone());
        }

        let runner = if options.seeds.is_some() {
            "run_seeded"
        } else {
            "run_to_completion"
        };
        let mut inner = path(&["looplet", "__private", runner], span);
        inner.extend([joint(':', span), punct(':', span), punct('<', span)]);
        inner.extend(output);
        inner.extend([punct(',', span), ident("_", span)]);
        if options.seeds.is_some() {
            inner.extend([punct(',', span), ident("_", span)]);
        }
        inner.extend([punct('>', span)]);
        let clock = match options.clock {
            Clock::FromEnvironment => "FromEnvironment",
            Clock::Virtual => "Virtual",
            Clock::Real => "Real",
        };
        let mut arguments = path(&["looplet", "__private", "MacroClock", clock], span);
        arguments.extend([punct(',', span)]);
        if let Some(seeds) = options.seeds {
            arguments.extend([
                TokenTree::Literal(seeds),
                punct(',', span),
                ident("module_path", span),
                punct('!', span),
                group(Delimiter::Parenthesis, TokenStream::new()),
                punct(',', span),
                TokenTree::Literal(Literal::string(&name)),
                punct(',', span),
                joint('|', span),
                punct('|', span),
            ]);
        }
        arguments.extend([
            ident("async", span),
            ident("move", span),
            TokenTree::Group(self.body),
        ]);
        inner.extend([group(Delimiter::Parenthesis, arguments)]);
        tokens.extend([TokenTree::Group(Group::new(Delimiter::Brace, inner))]);
        tokens
    }
}

fn is_ident(token: &TokenTree, name: &str) -> bool {
    matches!(token, TokenTree::Ident(ident) if ident.to_string() == name)
}

fn is_punct(token: &TokenTree, ch: char) -> bool {
    matches!(token, TokenTree::Punct(punct) if punct.as_char() == ch)
}

fn ident(name: &str, span: Span) -> TokenTree {
    TokenTree::Ident(Ident::new(name, span))
}

fn punct(ch: char, span: Span) -> TokenTree {
    let mut punct = Punct::new(ch, Spacing::Alone);
    punct.set_span(span);
    TokenTree::Punct(punct)
}

/// A punctuation character joined to the next one (`-` of `->`, `:` of `::`).
fn joint(ch: char, span: Span) -> TokenTree {
    let mut punct = Punct::new(ch, Spacing::Joint);
    punct.set_span(span);
    TokenTree::Punct(punct)
}

fn group(delimiter: Delimiter, stream: TokenStream) -> TokenTree {
    TokenTree::Group(Group::new(delimiter, stream))
}

fn bracketed(stream: TokenStream) -> TokenTree {
    group(Delimiter::Bracket, stream)
}

/// `::first::second::…`
fn path(segments: &[&str], span: Span) -> TokenStream {
    let mut tokens = TokenStream::new();
    for segment in segments {
        tokens.extend([joint(':', span), punct(':', span), ident(segment, span)]);
    }
    tokens
}
