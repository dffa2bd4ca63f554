//! The type system's functions: TYPE-OF, TYPEP, SUBTYPEP and friends.
//! The logic lives in `crate::types`; this module only exposes it.

use crate::types;
use crate::value::Value;

crate::defbuiltins! {
    /// The type of OBJECT, as specific as SBCL reports it.
    fn TYPE_OF "TYPE-OF" "(object)" (_ctx, a) { Ok(types::type_of(&a[0])) }
    /// True if OBJECT is of TYPE-SPECIFIER.
    fn TYPEP "TYPEP" "(object type-specifier &optional environment)" (ctx, a) {
        Ok(Value::bool(types::typep(ctx, &a[0], &a[1])?))
    }
    /// Two values: whether TYPE-1 is a subtype of TYPE-2, and whether
    /// that answer is certain.
    fn SUBTYPEP "SUBTYPEP" "(type-1 type-2 &optional environment)" [mv] (ctx, a) {
        let (sub, sure) = types::subtypep(ctx, &a[0], &a[1])?;
        Ok(ctx.values2(Value::bool(sub), Value::bool(sure)))
    }
    /// The part type of a complex made from parts of TYPESPEC.
    fn UPGRADED_COMPLEX_PART_TYPE "UPGRADED-COMPLEX-PART-TYPE" "(typespec &optional environment)" (_ctx, a) {
        Ok(a[0].clone())
    }
}
