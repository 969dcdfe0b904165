//! Optimizers with saveable state, optimizer wrappers and MMEngine parameter schedulers.
//!
//! * [`optimizer`]: `AdamW`, `Adam` and `SGD` with PyTorch's exact update rules and state
//!   that can be checkpointed (tch's own optimizers cannot save theirs). Registry kind
//!   [`OptimizerKind`] (`"optimizer"`).
//! * [`wrapper`]: MMEngine's `OptimWrapper` / `AmpOptimWrapper` built from the
//!   `optim_wrapper` table: `paramwise_cfg` groups, gradient accumulation, clipping, loss
//!   scaling, `state_dict` / `load_state_dict`. Registry kind [`OptimWrapperKind`]
//!   (`"optim_wrapper"`), built for the model's named trainable parameters.
//! * [`scheduler`]: MMEngine's `LinearLR`, `CosineAnnealingLR`, `MultiStepLR`, `StepLR`,
//!   `ConstantLR`, `ExponentialLR`, `PolyLR` and their `*Momentum` variants. Registry kind
//!   [`ParamSchedulerKind`] (`"param_scheduler"`).
//!
//! A training loop uses them as MMEngine's runner does:
//!
//! ```ignore
//! let ctx = OptimContext { params: named_trainable_params, device };
//! let mut wrapper = *build_optim_wrapper(&cfg["optim_wrapper"], &site, &ctx)?.into_inner();
//! let mut schedulers = ParamSchedulers::build(&cfg["param_scheduler"], &site, &sched_ctx, wrapper.param_groups_mut())?;
//! wrapper.initialize_count_status(start_iter, max_iters);
//! for batch in loader {
//!     let loss = model.loss(batch);                 // under autocast(wrapper.autocast_dtype())
//!     let info = wrapper.update_params(&loss)?;     // backward, clip, step, zero_grad
//!     schedulers.step_iter(wrapper.param_groups_mut());
//! }
//! schedulers.step_epoch(wrapper.param_groups_mut());
//! ```

pub mod error;
pub mod group;
pub mod optimizer;
pub mod scheduler;
pub mod wrapper;

pub use error::{OptimError, Result};
pub use group::{GroupOverrides, Hyper, Param, ParamGroup, ScheduledParam};
pub use optimizer::{Optimizer, OptimizerKind};
pub use scheduler::{build_schedulers, ParamScheduler, ParamSchedulerKind, ParamSchedulers, SchedulerContext};
pub use wrapper::{
    build_optim_wrapper, ConstructorKind, GradSync, GroupConstructor, LrLog, OptimContext, OptimState, OptimWrapper,
    OptimWrapperKind, UpdateInfo,
};
