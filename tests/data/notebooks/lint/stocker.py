"""A local module that imports a package no environment here has."""
import os

import quandl_absent_package

import localmod
