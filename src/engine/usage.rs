//! What a CommonJS script's code uses, read from the syntax tree of its
//! wrapper (the text the engine compiles, with every parameter): the names it
//! mentions (so a plain script skips making `module` and `exports`), and
//! whether every `require` is a call with the literal name of a native
//! module. Comments and strings mention nothing. Source that closes the
//! wrapper early is caught here too.

use std::ops::ControlFlow;

use boa_engine::ast::expression::access::PropertyAccessField;
use boa_engine::ast::expression::literal::{
    Literal, LiteralKind, ObjectMethodDefinition, TemplateElement,
};
use boa_engine::ast::expression::{Call, Expression, This};
use boa_engine::ast::function::{
    AsyncFunctionDeclaration, AsyncFunctionExpression, AsyncGeneratorDeclaration,
    AsyncGeneratorExpression, FunctionDeclaration, FunctionExpression, GeneratorDeclaration,
    GeneratorExpression,
};
use boa_engine::ast::property::PropertyName;
use boa_engine::ast::scope::Scope;
use boa_engine::ast::statement::Statement;
use boa_engine::ast::visitor::{VisitWith, Visitor};
use boa_engine::ast::StatementListItem;
use boa_engine::interner::{Interner, Sym};
use boa_engine::parser::{Parser, Source};

/// The wrapper's own names a script can see; `this` and `arguments` only
/// outside its nested `function`s (which have their own).
const NAMES: [&str; 7] = [
    "module",
    "exports",
    "eval",
    "__filename",
    "__dirname",
    "this",
    "arguments",
];
/// From here on in `NAMES`, every non-arrow function has its own.
const OWN_PER_FUNCTION: usize = 5;
const THIS: usize = 5;

pub struct Usage {
    mentioned: [bool; NAMES.len()],
    /// The modules of `require("…")`, when each `require` is such a call
    /// naming a native module.
    pub native_requires: Option<Vec<String>>,
}

/// Why a wrapped script's usage could not be read.
pub enum Unusable {
    /// It does not parse (the engine then says why, or finds an ES module).
    Unparsed,
    /// It parses, but not as one function: the source closed the wrapper
    /// early (`…}); (function () {…`).
    NotABody,
}

impl Usage {
    /// The usage of the function that `wrapped` (a script wrapped as
    /// `(function (…) {…})`) is.
    pub fn of(wrapped: &str, is_native: impl Fn(&str) -> bool) -> Result<Usage, Unusable> {
        let mut interner = Interner::new();
        let script = Parser::new(Source::from_bytes(wrapped))
            .parse_script(&Scope::new_global(), &mut interner)
            .map_err(|_| Unusable::Unparsed)?;
        let [StatementListItem::Statement(statement)] = script.statements().statements() else {
            return Err(Unusable::NotABody);
        };
        let Statement::Expression(Expression::Parenthesized(wrapper)) = &**statement else {
            return Err(Unusable::NotABody);
        };
        let Expression::FunctionExpression(function) = wrapper.expression() else {
            return Err(Unusable::NotABody);
        };
        let mut finder = Finder {
            names: NAMES.map(|name| interner.get(name)),
            require: interner.get("require"),
            interner: &interner,
            is_native: &is_native,
            nested: 0,
            usage: Usage {
                mentioned: [false; NAMES.len()],
                native_requires: Some(Vec::new()),
            },
        };
        // The body only: the parameters are the wrapper's own names.
        let _ = finder.visit_function_body(function.body());
        Ok(finder.usage)
    }

    pub fn mentions(&self, name: &str) -> bool {
        NAMES
            .iter()
            .position(|n| *n == name)
            .is_some_and(|i| self.mentioned[i])
    }

    /// It mentions none of `module`, `exports`, `this`, `arguments`, `eval`.
    pub fn plain(&self) -> bool {
        ["module", "exports", "this", "arguments", "eval"]
            .iter()
            .all(|name| !self.mentions(name))
    }
}

struct Finder<'a, F> {
    names: [Option<Sym>; NAMES.len()],
    require: Option<Sym>,
    interner: &'a Interner,
    is_native: &'a F,
    /// How many non-arrow functions deep the walk is.
    nested: usize,
    usage: Usage,
}

impl<F> Finder<'_, F> {
    fn mention(&mut self, index: usize) {
        if index < OWN_PER_FUNCTION || self.nested == 0 {
            self.usage.mentioned[index] = true;
        }
    }
}

/// Non-arrow functions have their own `this` and `arguments`.
macro_rules! own_this {
    ($($visit:ident: $node:ty),* $(,)?) => {
        $(fn $visit(&mut self, node: &'ast $node) -> ControlFlow<()> {
            self.nested += 1;
            let flow = node.visit_with(self);
            self.nested -= 1;
            flow
        })*
    };
}

impl<'ast, F: Fn(&str) -> bool> Visitor<'ast> for Finder<'_, F> {
    type BreakTy = ();

    fn visit_sym(&mut self, sym: &'ast Sym) -> ControlFlow<()> {
        if let Some(index) = self.names.iter().position(|n| *n == Some(*sym)) {
            self.mention(index);
        }
        if Some(*sym) == self.require {
            // Anything but `require("native")`: the usual require.
            self.usage.native_requires = None;
        }
        ControlFlow::Continue(())
    }

    fn visit_this(&mut self, _: &'ast This) -> ControlFlow<()> {
        self.mention(THIS);
        ControlFlow::Continue(())
    }

    fn visit_literal(&mut self, _: &'ast Literal) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    fn visit_template_element(&mut self, node: &'ast TemplateElement) -> ControlFlow<()> {
        match node {
            TemplateElement::String(_) => ControlFlow::Continue(()),
            TemplateElement::Expr(expression) => self.visit_expression(expression),
        }
    }

    fn visit_property_access_field(&mut self, node: &'ast PropertyAccessField) -> ControlFlow<()> {
        match node {
            PropertyAccessField::Const(_) => ControlFlow::Continue(()),
            PropertyAccessField::Expr(expression) => self.visit_expression(expression),
        }
    }

    fn visit_property_name(&mut self, node: &'ast PropertyName) -> ControlFlow<()> {
        match node {
            PropertyName::Literal(_) => ControlFlow::Continue(()),
            PropertyName::Computed(expression) => self.visit_expression(expression),
        }
    }

    fn visit_call(&mut self, call: &'ast Call) -> ControlFlow<()> {
        let native = match (call.function(), call.args()) {
            (Expression::Identifier(callee), [Expression::Literal(name)])
                if Some(callee.sym()) == self.require =>
            {
                match name.kind() {
                    LiteralKind::String(sym) => self.interner.resolve_expect(*sym).utf8(),
                    _ => None,
                }
                .filter(|name| (self.is_native)(name))
            }
            _ => None,
        };
        match (native, &mut self.usage.native_requires) {
            (Some(name), Some(names)) => {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
                ControlFlow::Continue(())
            }
            _ => call.visit_with(self),
        }
    }

    fn visit_object_method_definition(
        &mut self,
        node: &'ast ObjectMethodDefinition,
    ) -> ControlFlow<()> {
        // A computed name is the outer code's.
        self.visit_property_name(node.name())?;
        self.nested += 1;
        let flow = match self.visit_formal_parameter_list(node.parameters()) {
            ControlFlow::Continue(()) => self.visit_function_body(node.body()),
            stop => stop,
        };
        self.nested -= 1;
        flow
    }

    // Classes are left out: their `extends` and computed names are the
    // outer code's, and a `this` mentioned there for nothing only costs the
    // slower path.
    own_this!(
        visit_function_declaration: FunctionDeclaration,
        visit_function_expression: FunctionExpression,
        visit_generator_declaration: GeneratorDeclaration,
        visit_generator_expression: GeneratorExpression,
        visit_async_function_declaration: AsyncFunctionDeclaration,
        visit_async_function_expression: AsyncFunctionExpression,
        visit_async_generator_declaration: AsyncGeneratorDeclaration,
        visit_async_generator_expression: AsyncGeneratorExpression,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(source: &str) -> Result<Usage, Unusable> {
        let wrapped = format!("(function (exports, require, module) {{{source}\n}})");
        Usage::of(&wrapped, |name| name.starts_with("http/"))
    }

    fn usage(source: &str) -> Usage {
        match read(source) {
            Ok(usage) => usage,
            Err(_) => panic!("{source} does not parse as a script body"),
        }
    }

    #[test]
    fn comments_and_strings_mention_nothing() {
        for plain in [
            "// this module exports nothing\nconst a = 1;",
            "/* arguments, eval */ const s = 'module.exports';",
            "const t = `this ${1 + 1} exports`;",
            "function f() { return this.x + arguments.length; }",
            "const o = { get x() { return this.y; }, m() { return arguments[0]; } };",
            "const x = obj.module + o['exports'];",
            "const o = { module: 1, 'eval': 2 };",
            "return;",
        ] {
            assert!(usage(plain).plain(), "{plain}");
        }
        for not_plain in [
            "module.exports = 1;",
            "exports.a = 1;",
            "const f = () => this;",
            "const f = () => arguments[0];",
            "function f() { return () => module; }",
            "eval('1');",
            "function f() { return eval('x'); }",
            "const t = `${this}`;",
            "class A { m() { return this; } }",
            "const o = { [this.k]() {} };",
            "const o = { [module.id]: 1 };",
            "function f({ module }) { return module; }",
        ] {
            assert!(!usage(not_plain).plain(), "{not_plain}");
        }
        assert!(usage("print(__dirname)").mentions("__dirname"));
        assert!(!usage("print('__dirname')").mentions("__dirname"));
        assert!(matches!(read("const = ;"), Err(Unusable::Unparsed)));
        assert!(matches!(read("const module = 1;"), Err(Unusable::Unparsed)));
        assert!(matches!(
            read("print(1) }); (function () { print(2)"),
            Err(Unusable::NotABody)
        ));
    }

    #[test]
    fn only_literal_native_module_names_get_the_native_require() {
        for (source, names) in [
            (
                "const r = require('http/v4/response'); r.println(1);",
                &["http/v4/response"][..],
            ),
            (
                "require ( \"http/session\" ).increment('n'); require('http/session')",
                &["http/session"],
            ),
            (
                "const a = obj.required; let requirement = obj.require;",
                &[],
            ),
            ("// require('fs')\nconst s = 'require(x)';", &[]),
            ("", &[]),
        ] {
            assert_eq!(
                usage(source).native_requires.as_deref(),
                Some(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>()[..]),
                "{source}"
            );
        }
        for no in [
            "require('./lib')",
            "require('http/v4/response'); require(name)",
            "const r = require; r('http/v4/response')",
            "require(`http/v4/response`)",
            "require('http/v4/response' + '')",
            "require('http/v4/response', 2)",
        ] {
            assert!(usage(no).native_requires.is_none(), "{no}");
        }
    }
}
