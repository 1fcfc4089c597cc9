#![allow(non_snake_case)] pub fn x(){}
