// RUN: lathe-opt %s -split-input-file -verify-diagnostics --lathe-build-training

// expected-error @+1 {{lathe-build-training needs @forward and @gradients (run lathe-autodiff first)}}
module {
  func.func @forward(%tokens: tensor<?x?xi32>) -> tensor<?x?xi32> {
    return %tokens : tensor<?x?xi32>
  }
}

// -----

// expected-error @+1 {{the module already has a function @eval_loss}}
module {
  func.func @forward(%tokens: tensor<?x?xi32>) -> tensor<?x?xi32> {
    return %tokens : tensor<?x?xi32>
  }
  func.func @gradients(%tokens: tensor<?x?xi32>) -> tensor<?x?xi32> {
    return %tokens : tensor<?x?xi32>
  }
  func.func @eval_loss() {
    return
  }
}
